"""Following Heroku builds, releases and promotions to a final status.

Streams first (``output_stream_url``: the build log, the release phase output), and only
when there is nothing to stream, or the stream ended before the status did, asks again with
a backoff that never polls an endpoint more than once a second.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TypeVar

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.adapters.heroku.resources import Build, Release
from keycliq_ops.base.errors import ExternalError, HerokuError
from keycliq_ops.release.stepper import StepIO

T = TypeVar("T")
FINAL_BUILD = frozenset({"succeeded", "failed"})
FINAL_RELEASE = frozenset({"succeeded", "failed", "expired"})
MIN_INTERVAL = 1.0
MAX_INTERVAL = 5.0
_APPLYING = re.compile(r"Applying migration `([^`]+)`")


class WaitTimeout(ExternalError):
    """Heroku did not reach a final status within the configured time."""


def wait_for(
    fetch: Callable[[], T],
    is_final: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_poll: Callable[[T], None] | None = None,
) -> T:
    """``fetch()`` until ``is_final``; at most one request a second, backing off to 5 s."""
    deadline = clock() + timeout
    interval = MIN_INTERVAL
    while True:
        value = fetch()
        if on_poll:
            on_poll(value)
        if is_final(value):
            return value
        if clock() + interval > deadline:
            raise WaitTimeout(
                f"{what} did not finish within {timeout:.0f}s",
                hint="raise the timeout in keycliq.yaml (timeouts:) or look at the app "
                "with `heroku releases` / `heroku builds`; --resume continues the wait",
            )
        sleep(interval)
        interval = min(interval * 1.5, MAX_INTERVAL)


def stream_into(
    client: HerokuClient, url: str | None, io: StepIO, *, deadline: float | None = None
) -> int:
    """Copy a live output stream into the step's output; returns the lines read.

    A stream that cannot be read (cut for good, gone, or still open at ``deadline``
    seconds) is noted, not fatal: the status is what decides, and it is fetched afterwards.
    """
    if not url:
        return 0
    count = 0
    try:
        for line in client.stream_lines(url, deadline=deadline):
            io.line(line)
            count += 1
    except HerokuError as exc:
        io.note(f"output stream unavailable ({exc.message}); following the status instead")
    return count


def follow_build(
    client: HerokuClient,
    app: str,
    build: Build,
    io: StepIO,
    *,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Build:
    if build.status in FINAL_BUILD:
        return build
    stream_into(client, build.output_stream_url, io, deadline=timeout)
    return wait_for(
        lambda: client.build(app, build.id),
        lambda b: b.status in FINAL_BUILD,
        timeout=timeout,
        what=f"build {build.id[:8]}",
        sleep=sleep,
        on_poll=lambda b: io.note(f"build {b.status}"),
    )


def follow_release(
    client: HerokuClient,
    app: str,
    release: Release,
    io: StepIO,
    *,
    timeout: float,
    stream: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> Release:
    if release.status in FINAL_RELEASE:
        return release
    if stream:
        stream_into(client, release.output_stream_url, io, deadline=timeout)
    return wait_for(
        lambda: client.release(app, release.id),
        lambda r: r.status in FINAL_RELEASE,
        timeout=timeout,
        what=f"release v{release.version}",
        sleep=sleep,
        on_poll=lambda r: io.note(f"release v{r.version} {r.status}"),
    )


def applied_migrations(lines: Iterable[str]) -> list[str]:
    """The migrations a release phase's output says it applied (``prisma migrate deploy``
    prints ``Applying migration `NAME```), in order."""
    return [m.group(1) for line in lines for m in [_APPLYING.search(line)] if m]


class MigrationWatch(StepIO):
    """A step's output (passed through, optionally prefixed) that also notes the migrations
    a release phase applies, so that the ledger can say which ran (rollbacks list them)."""

    def __init__(self, inner: StepIO, prefix: str = "") -> None:
        self._inner = inner
        self._prefix = prefix
        self.lines = 0
        self.migrations: list[str] = []
        self.seen: deque[str] = deque(maxlen=400)  # the last lines, to read a failure
        self.tail = inner.tail

    def line(self, text: str) -> None:
        self.lines += 1
        self.seen.append(text)
        self.migrations.extend(applied_migrations([text]))
        self._inner.line(self._prefix + text)

    def note(self, text: str) -> None:
        self._inner.note(self._prefix + text)
