"""How the engine asks a person: the :class:`Prompter` protocol and a scripted prompter.

The engine never reads stdin. It hands a :class:`Question` to the prompter it was given
(rich prompts in a terminal, an answers file in CI, a script in tests) and checks the
:class:`Answer` it gets back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from keycliq_ops.checklists.items import Checklist, Item

Action = Literal["yes", "no", "skip", "value"]


@dataclass(frozen=True)
class Question:
    """One manual item, its text rendered with the values known so far."""

    item_id: str
    kind: Literal["confirm", "input"]
    section: str
    text: str
    help: str | None
    required: bool
    position: int
    total: int
    pattern: str | None = None
    example: str | None = None
    problem: str | None = None  # why the previous answer was refused (when asked again)


@dataclass(frozen=True)
class Answer:
    """``yes``/``no``/``skip`` for confirm; ``value`` (or ``skip``) for input.

    ``reason``: why (required for no and skip); ``who``: None means the run's actor.
    """

    action: Action
    value: str | None = None
    reason: str | None = None
    who: str | None = None


class Prompter(Protocol):
    """Asks a person. ``interactive`` prompters may be asked again after a refused answer."""

    @property
    def interactive(self) -> bool: ...

    @property
    def description(self) -> str:
        """For the record: ``terminal``, ``answers file <path>``, ``script``."""
        ...

    def preflight(self, checklist: Checklist, items: Sequence[Item], commit: str | None) -> None:
        """Before anything runs: raise UsageError when these items cannot all be answered."""
        ...

    def ask(self, question: Question) -> Answer: ...


def answer_problem(question: Question, answer: Answer) -> str | None:
    """Why ``answer`` is not acceptable for ``question`` (None when it is)."""
    import re

    if answer.action == "skip":
        if question.required:
            return "a required item cannot be skipped"
        if not (answer.reason or "").strip():
            return "say why the item is skipped"
        return None
    if question.kind == "confirm":
        if answer.action == "value":
            return "answer yes, no or skip"
        if answer.action == "no" and not (answer.reason or "").strip():
            return "say what is wrong"
        return None
    if answer.action != "value" or answer.value is None:
        return "give a value"
    if question.pattern and re.fullmatch(question.pattern, answer.value) is None:
        return f"{answer.value!r} does not match {question.pattern}"
    return None


@dataclass
class ScriptedPrompter:
    """Answers from a mapping ``item id -> Answer`` (or a list, consumed on re-asks).

    For tests and for callers that already hold the answers. ``asked`` keeps every
    question, in order. An item without an answer raises ``KeyError`` at ask time unless
    ``default`` is set.
    """

    answers: Mapping[str, Answer | Sequence[Answer]]
    who: str = "script"
    interactive: bool = False
    default: Answer | None = None
    asked: list[Question] = field(default_factory=list)
    _used: dict[str, int] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return "script"

    def preflight(self, checklist: Checklist, items: Sequence[Item], commit: str | None) -> None:
        from keycliq_ops.base.errors import UsageError

        if self.default is not None:
            return
        missing = [i.id for i in items if i.id not in self.answers]
        if missing:
            raise UsageError(f"no scripted answer for item(s): {', '.join(missing)}")

    def ask(self, question: Question) -> Answer:
        self.asked.append(question)
        given = self.answers.get(question.item_id, self.default)
        if given is None:
            raise KeyError(question.item_id)
        if isinstance(given, Answer):
            answer = given
        else:
            n = self._used.get(question.item_id, 0)
            self._used[question.item_id] = n + 1
            answer = given[min(n, len(given) - 1)]
        if answer.who is None:
            return Answer(answer.action, answer.value, answer.reason, self.who)
        return answer
