"""Rendering pipeline events: rich live status in a terminal, plain lines otherwise, or JSON.

The engine emits :class:`keycliq_ops.release.stepper.Event`; these sinks turn them into what
a person (or a CI log, or a program) reads. Everything goes to stderr except ``--json``
events, which are the command's output on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from keycliq_ops.base.redact import mask_text, mask_tree

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

    from keycliq_ops.release.stepper import RunResult, StepEvent, StepRecord

_MARK = {
    "succeeded": ("✓", "green"),
    "done-before": ("✓", "green"),
    "skipped": ("-", "yellow"),
    "failed": ("✗", "red"),
    "aborted": ("!", "red"),
    "not-run": ("·", "dim"),
}


def _secs(ms: int) -> str:
    return f"{ms / 1000:.1f}s"


class JsonSink:
    """One JSON object per event on stdout (``--json``)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout

    def __call__(self, event: StepEvent) -> None:
        self._stream.write(json.dumps(mask_tree(event.to_json()), default=str) + "\n")
        self._stream.flush()

    def close(self) -> None:
        pass


class PlainSink:
    """Plain lines for logs and pipes: no cursor movement, no colour."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr

    def _w(self, text: str) -> None:
        self._stream.write(mask_text(text) + "\n")
        self._stream.flush()

    def __call__(self, event: StepEvent) -> None:
        if event.kind == "plan":
            self._w(f"plan: {event.title}: {event.text}")
        elif event.kind == "start":
            self._w(f"==> {event.title}")
        elif event.kind == "line":
            self._w(f"    | {event.text}")
        elif event.kind == "note":
            self._w(f"    {event.text}")
        elif event.kind == "finish" and event.record is not None:
            r = event.record
            mark = _MARK.get(r.status, ("?", ""))[0]
            detail = f": {r.detail}" if r.detail else ""
            self._w(f"{mark} {r.title} [{r.status}, {_secs(r.duration_ms)}]{detail}")
            if r.hint and r.status == "failed":
                self._w(f"  hint: {r.hint}")

    def close(self) -> None:
        pass


class RichSink:
    """A live status line per running step (spinner, elapsed time, output folded beneath)."""

    FOLD = 8

    def __init__(self, console: Console) -> None:
        from rich.live import Live

        self._console = console
        self._current: str | None = None
        self._title = ""
        self._lines: list[str] = []
        self._note = ""
        self._t0 = time.monotonic()
        self._live: Live = Live(
            console=console, refresh_per_second=8, transient=True, get_renderable=self._render
        )
        self._live.start()

    def _render(self) -> RenderableType:
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.text import Text

        if self._current is None:
            return Text("")
        elapsed = time.monotonic() - self._t0
        head = Spinner(
            "dots",
            text=Text.assemble((self._title, "bold"), f"  {elapsed:5.1f}s  ", (self._note, "dim")),
        )
        body = [
            Text("    " + line, style="dim", overflow="ellipsis", no_wrap=True)
            for line in self._lines[-self.FOLD :]
        ]
        return Group(head, *body)

    def __call__(self, event: StepEvent) -> None:
        from rich.text import Text

        if event.kind == "start":
            self._current, self._title = event.step, event.title or ""
            self._lines, self._note, self._t0 = [], "", time.monotonic()
        elif event.kind == "line" and event.text is not None:
            # masked before it is cropped to the width (a cut value would show its start)
            self._lines.append(mask_text(event.text))
        elif event.kind == "note" and event.text is not None:
            self._note = mask_text(event.text)
        elif event.kind == "finish" and event.record is not None:
            r = event.record
            mark, style = _MARK.get(r.status, ("?", ""))
            line = Text.assemble(
                (f"{mark} ", style), (r.title, "bold"), (f"  {_secs(r.duration_ms)}", "dim")
            )
            if r.detail:
                line.append(f"  {r.detail}")
            self._live.console.print(line)
            if r.status in ("failed", "aborted"):
                for tail in r.output_tail[-15:]:
                    self._live.console.print(Text("    " + mask_text(tail), style="dim"))
                if r.hint:
                    self._live.console.print(Text(f"  hint: {r.hint}", style="yellow"))
            self._current = None

    def close(self) -> None:
        self._live.stop()

    def suspend(self) -> None:
        """Stop redrawing (a prompt is about to read the terminal)."""
        self._live.stop()

    def resume(self) -> None:
        self._live.start()


def make_sink(as_json: bool, console: Console) -> Any:
    """The sink for this run: JSON, rich (a terminal), or plain lines."""
    if as_json:
        return JsonSink()
    if console.is_terminal:
        return RichSink(console)
    return PlainSink()


def render_plan(console: Console, plan: list[tuple[str, str, str]]) -> None:
    from rich.table import Table

    table = Table(title="plan", show_header=True, header_style="bold", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("step")
    table.add_column("what it does")
    for i, (_name, title, what) in enumerate(plan, 1):
        table.add_row(str(i), title, what)
    console.print(table)


def render_summary(console: Console, result: RunResult, extra: dict[str, str]) -> None:
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    table.add_column("step")
    table.add_column("status")
    table.add_column("time", justify="right")
    table.add_column("detail", overflow="fold")
    for r in result.steps:
        mark, style = _MARK.get(r.status, ("?", ""))
        table.add_row(
            r.title,
            f"[{style}]{mark} {r.status}[/]",
            _secs(r.duration_ms) if r.status != "not-run" else "",
            r.detail,
        )
    console.print(table)
    for key, value in extra.items():
        console.print(f"{key}: {value}")


def step_records_to_text(records: list[StepRecord]) -> str:
    return ", ".join(f"{r.name}={r.status}" for r in records)
