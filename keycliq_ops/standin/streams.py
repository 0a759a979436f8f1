"""Live buffers: text that readers follow while it is written, and per-app logs.

A :class:`Live` keeps every item written to it; readers iterate from any position and
block (on a condition variable, no polling) until more arrives or the writer closes it.
:meth:`Live.abort` wakes readers when the sandbox stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

T = TypeVar("T")


class Live(Generic[T]):
    """An append-only sequence that readers can follow until it is closed."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._closed = False
        self._aborted = False
        self._cond = threading.Condition()

    def append(self, item: T) -> None:
        with self._cond:
            if self._closed:
                return
            self._items.append(item)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def abort(self) -> None:
        """Wake and end every reader (the sandbox is stopping)."""
        with self._cond:
            self._aborted = True
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def snapshot(self) -> list[T]:
        with self._cond:
            return list(self._items)

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def follow(self, start: int = 0, *, live: bool = True) -> Iterator[T]:
        """Items from ``start``; with ``live``, wait for more until the buffer is closed."""
        index = start
        while True:
            with self._cond:
                while live and index >= len(self._items) and not self._closed:
                    self._cond.wait()
                batch = self._items[index:]
                done = self._closed or not live
            index += len(batch)
            yield from batch
            if done:
                return


class LiveText(Live[str]):
    """Output of a build, release phase or one-off dyno, as lines of text."""

    def write_line(self, line: str) -> None:
        self.append(line.rstrip("\n") + "\n")

    def text(self) -> str:
        return "".join(self.snapshot())


@dataclass(frozen=True)
class LogLine:
    """One line of an app's log, as Logplex shows it."""

    at: datetime
    source: str  # "app" | "heroku"
    dyno: str  # "web.1", "router", "api", "release.1234", "run.5678", "build"
    text: str

    def render(self) -> str:
        stamp = self.at.isoformat(timespec="microseconds")
        return f"{stamp} {self.source}[{self.dyno}]: {self.text}\n"

    def matches(self, source: str | None, dyno_name: str | None) -> bool:
        if source and self.source != source:
            return False
        return not dyno_name or self.dyno == dyno_name or self.dyno.startswith(dyno_name + ".")


class AppLog(Live[LogLine]):
    """Everything an app's log holds: build, release, one-off, router and app lines."""

    def write(self, text: str, *, source: str = "app", dyno: str = "web.1") -> None:
        for line in text.splitlines() or [""]:
            self.append(LogLine(datetime.now(UTC), source, dyno, line))

    def session(
        self,
        *,
        lines: int,
        tail: bool,
        source: str | None,
        dyno_name: str | None,
        stop: Callable[[], bool] = lambda: False,
        start: int | None = None,
    ) -> Iterator[str]:
        """The last ``lines`` matching lines before ``start`` (default: now), then (with
        ``tail``) every line from ``start`` on as it comes."""
        past = self.snapshot()
        cut = len(past) if start is None else min(start, len(past))
        picked = [ln for ln in past[:cut] if ln.matches(source, dyno_name)]
        for ln in picked[-lines:] if lines > 0 else []:
            yield ln.render()
        if not tail:
            return
        for ln in self.follow(cut):
            if stop():
                return
            if ln.matches(source, dyno_name):
                yield ln.render()
