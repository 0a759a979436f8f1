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
    """A terminal display that keeps the whole transcript: every finished step, warning,
    checklist answer and verdict is printed as its own line and stays; the only live part
    is one spinner line below the transcript (the running step, its time, its last output
    line), which is gone while a prompt is open (:meth:`suspend`) and comes back after it.

    Why a new live region after each prompt (and never one kept across it): rich's live
    display moves the cursor up by the height it last drew before drawing again, which
    erased the lines a prompt had printed in between (answered questions vanished)."""

    # The lines of these steps are the record (checklist answers, Dataclip verdicts):
    # printed and kept. Other steps' output (tests, build) shows on the live line only, and
    # its tail is printed when the step fails.
    TRANSCRIPT_STEPS = frozenset({"checklist", "dataclips"})

    def __init__(self, console: Console) -> None:
        self._console = console
        self._current: str | None = None
        self._title = ""
        self._last = ""
        self._note = ""
        self._t0 = time.monotonic()
        self._live: Live | None = None
        self._start_live()

    def _start_live(self) -> None:
        from rich.live import Live

        if self._live is None:
            self._live = Live(
                console=self._console,
                refresh_per_second=8,
                transient=True,
                get_renderable=self._render,
            )
            self._live.start()

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _render(self) -> RenderableType:
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        if self._current is None:
            return Text("")
        elapsed = time.monotonic() - self._t0
        text = Text.assemble((self._title, "bold"), f"  {elapsed:5.1f}s  ")
        tail = self._note or self._last
        if tail:
            text.append(tail, style="dim")
        # one line, whatever the width: a long note is cut here (the full line is printed
        # above when it matters: warnings, failures, the checklist)
        grid = Table.grid()
        grid.add_column(no_wrap=True, overflow="ellipsis")
        text.no_wrap, text.overflow = True, "ellipsis"
        grid.add_row(Spinner("dots", text=text))
        return grid

    def _print(self, renderable: RenderableType) -> None:
        """A line of the transcript, above the live line."""
        self._console.print(renderable)

    def __call__(self, event: StepEvent) -> None:
        from rich.text import Text

        if event.kind == "start":
            self._current, self._title = event.step, event.title or ""
            self._last, self._note, self._t0 = "", "", time.monotonic()
        elif event.kind == "line" and event.text is not None:
            text = mask_text(event.text)
            if event.step in self.TRANSCRIPT_STEPS:
                self._print(Text("    " + text, overflow="fold"))
            else:
                self._last = text.strip()
        elif event.kind == "note" and event.text is not None:
            note = mask_text(event.text)
            if note.startswith("warning: "):
                self._print(Text.assemble(("warning", "yellow"), ": " + note[len("warning: ") :]))
            elif self._current is None:  # between or after the steps: a line of its own
                self._print(Text(note, style="dim", overflow="fold"))
            else:
                self._note = note
        elif event.kind == "finish" and event.record is not None:
            r = event.record
            mark, style = _MARK.get(r.status, ("?", ""))
            line = Text.assemble(
                (f"{mark} ", style), (r.title, "bold"), (f"  {_secs(r.duration_ms)}", "dim")
            )
            if r.detail:
                line.append(f"  {mask_text(r.detail)}")
            line.overflow = "fold"
            self._print(line)
            if r.status in ("failed", "aborted"):
                for tail in r.output_tail[-15:]:
                    self._print(Text("    " + mask_text(tail), style="dim", overflow="fold"))
                if r.hint:
                    self._print(Text(f"  hint: {mask_text(r.hint)}", style="yellow"))
            self._current = None

    def close(self) -> None:
        self._stop_live()

    def suspend(self) -> None:
        """Take the live line away (a prompt is about to read the terminal)."""
        self._stop_live()

    def resume(self) -> None:
        """A new live line below what the prompt printed."""
        self._start_live()


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
    table.add_column("step", no_wrap=True)
    table.add_column("what it does", overflow="fold")  # a long path folds, never cut
    for i, (_name, title, what) in enumerate(plan, 1):
        table.add_row(str(i), title, what)
    console.print(table)


def render_summary(console: Console, result: RunResult, extra: dict[str, str]) -> None:
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    table.add_column("step", no_wrap=True)
    table.add_column("status", no_wrap=True)
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
    from rich.text import Text

    for key, value in extra.items():
        # never folded by rich: a report path is one word to copy, the terminal wraps it
        console.print(Text(f"{key}: {value}"), soft_wrap=True)


def step_records_to_text(records: list[StepRecord]) -> str:
    return ", ".join(f"{r.name}={r.status}" for r in records)
