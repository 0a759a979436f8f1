"""Rich prompts in a terminal (the prompter ``keycliq checklist run`` uses without
``--answers``), and the progress lines every run shows on stderr."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from keycliq_ops.checklists.items import Checklist, Item
from keycliq_ops.checklists.prompting import Answer, Question
from keycliq_ops.checklists.walker import ChecklistEvent

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {"passed": "green", "failed": "red", "skipped": "yellow"}


class TerminalPrompter:
    """Asks on the terminal: prompts on ``console`` (stderr), answers read by rich."""

    interactive = True

    def __init__(self, console: Console, who: str) -> None:
        self.console = console
        self.who = who

    @property
    def description(self) -> str:
        return "terminal"

    def preflight(self, checklist: Checklist, items: Sequence[Item], commit: str | None) -> None:
        return None

    def _read(self, prompt: str, choices: list[str] | None = None) -> str:
        from rich.prompt import Prompt

        try:
            return Prompt.ask(
                prompt, console=self.console, choices=choices, show_choices=bool(choices)
            )
        except EOFError:
            raise KeyboardInterrupt from None

    def _reason(self, prompt: str) -> str:
        while True:
            text = self._read(prompt).strip()
            if text:
                return text
            self.console.print("[yellow]a reason is needed (it is recorded)[/]")

    def ask(self, question: Question) -> Answer:
        from rich.markup import escape
        from rich.panel import Panel

        c = self.console
        if question.problem is None:
            c.print()
            need = "required" if question.required else "optional"
            c.print(
                f"[bold][{question.position}/{question.total}] {escape(question.section)}[/] · "
                f"{escape(question.item_id)} [dim]({question.kind}, {need})[/]"
            )
            c.print(escape(question.text))
            if question.help:
                c.print(Panel(escape(question.help), border_style="dim", expand=False))
        else:
            c.print(f"[yellow]{escape(question.problem)}[/]")
        if question.kind == "input":
            hint = f" (matching {question.pattern}"
            hint += f", e.g. {question.example})" if question.example else ")"
            if not question.required:
                hint += " — empty to skip"
            value = self._read(f"value{escape(hint)}").strip()
            if not value and not question.required:
                return Answer("skip", reason=self._reason("why skip it?"), who=self.who)
            return Answer("value", value=value, who=self.who)
        choices = ["y", "n"] if question.required else ["y", "n", "s"]
        label = "done and as described? yes / no" + ("" if question.required else " / skip")
        picked = self._read(label, choices)
        if picked == "y":
            return Answer("yes", who=self.who)
        if picked == "n":
            return Answer("no", reason=self._reason("what is wrong?"), who=self.who)
        return Answer("skip", reason=self._reason("why skip it?"), who=self.who)


def render_event(
    console: Console, event: ChecklistEvent, *, show_manual_start: bool = False
) -> None:
    """One progress line per automated item (manual items show as their prompt)."""
    from rich.markup import escape

    manual = event.item_kind in ("confirm", "input")
    head = f"[{event.position}/{event.total}] {escape(event.item_id)}"
    if event.kind == "start":
        if not manual or show_manual_start:
            console.print(f"[dim]{head}: {escape(event.text)} …[/]")
        return
    r = event.result
    if r is None:
        return
    style = _STYLE.get(r.verdict, "white")
    note = r.summary or (f"{r.answer}" if r.answer else "")
    if r.reason and r.verdict != "passed":
        note = f"{note} — {r.reason}" if note else r.reason
    tag = " (kept from the earlier run)" if event.kind == "resumed" else ""
    own = " [dim](keycliq's own)[/]" if r.source == "keycliq" else ""
    console.print(f"{head}: [{style}]{r.verdict}[/] {escape(note)}{tag}{own}")
    if r.verdict == "failed" and r.output and event.kind != "resumed":
        for line in r.output.splitlines()[-15:]:
            console.print(f"  [dim]│[/] {escape(line)}")
