"""The answers file: how CI answers the manual items of a checklist.

Every answer says who gave it (``by``) and why (``reason``); see docs/checklists.md::

    version: 1
    checklist: staging          # optional: refuse to answer another checklist
    commit: 3f2c1a9             # optional: only for this commit (a prefix is enough)
    answers:
      migrations-applied:
        answer: yes             # confirm: yes | no | skip
        by: Ana Lopez <ana@keycliq.example>
        reason: prisma migrate status was clean in release v87's output
      test-user:
        value: "ckz1q2w3e4r5t6y7u8i9o0p1"   # input: the value (quote it)
        by: Ana Lopez <ana@keycliq.example>
        reason: account created on staging for this release
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from keycliq_ops.base.errors import ConfigError, UsageError
from keycliq_ops.base.yamlfile import YamlDoc, describe_error, format_loc, load_yaml
from keycliq_ops.checklists.items import Checklist, InputItem, Item, is_manual
from keycliq_ops.checklists.prompting import Answer, Question


class AnswerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: Literal["yes", "no", "skip"] | None = Field(
        default=None, description="For confirm items (and `skip` for optional input items)."
    )
    value: str | None = Field(default=None, description="For input items; quote it.")
    by: str = Field(min_length=1, description="Who answers: a name and/or e-mail.")
    reason: str = Field(min_length=1, description="Why: what was seen, where, when.")

    @field_validator("answer", mode="before")
    @classmethod
    def _yaml_booleans(cls, v: Any) -> Any:
        # YAML 1.1 reads an unquoted yes/no as a boolean.
        if v is True:
            return "yes"
        if v is False:
            return "no"
        return v

    @field_validator("value", mode="before")
    @classmethod
    def _string_only(cls, v: Any) -> Any:
        if v is not None and not isinstance(v, str):
            raise ValueError(f'must be a quoted string (YAML read {v!r}); write value: "..."')
        return v

    @field_validator("by", "reason")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()

    @model_validator(mode="after")
    def _one_of(self) -> AnswerEntry:
        if (self.answer is None) == (self.value is None):
            raise ValueError("give exactly one of `answer` (yes/no/skip) or `value`")
        return self

    def to_answer(self) -> Answer:
        if self.value is not None:
            return Answer("value", value=self.value, reason=self.reason, who=self.by)
        assert self.answer is not None
        return Answer(self.answer, reason=self.reason, who=self.by)


class ChecklistAnswers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    answers: dict[str, AnswerEntry] = Field(description="Answers by item id.")


class AnswersFile(BaseModel):
    """One checklist's answers (``answers:``), or several's (``checklists: {name: {answers}}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    checklist: str | None = Field(default=None, description="Checklist these answers are for.")
    commit: str | None = Field(default=None, min_length=4, description="Commit (or prefix).")
    answers: dict[str, AnswerEntry] | None = Field(default=None, description="By item id.")
    checklists: dict[str, ChecklistAnswers] | None = Field(
        default=None, description="Answers for several checklists, by checklist name."
    )

    @model_validator(mode="after")
    def _one_form(self) -> AnswersFile:
        if (self.answers is None) == (self.checklists is None):
            raise ValueError("give exactly one of `answers:` or `checklists:`")
        if self.checklists is not None and self.checklist is not None:
            raise ValueError("`checklist:` goes with `answers:`; `checklists:` names its own")
        return self


def _parse(doc: YamlDoc) -> AnswersFile:
    if not isinstance(doc.data, dict):
        raise ConfigError("an answers file must be a mapping with `answers:`", location=doc.where())
    try:
        return AnswersFile.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        loc = tuple(p for p in first["loc"] if isinstance(p, str | int))
        msg = describe_error(first)
        if first.get("type") == "value_error":
            msg = str(first.get("msg", "")).removeprefix("Value error, ")
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(msg + more, location=doc.where(loc), field=format_loc(loc)) from None


class AnswersPrompter:
    """Answers manual items from an answers file; checks them all before the run starts."""

    interactive = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._doc = load_yaml(path)
        self.file = _parse(self._doc)
        self._entries: dict[str, AnswerEntry] = self.file.answers or {}
        self._base: tuple[str, ...] = ("answers",)

    @property
    def description(self) -> str:
        return f"answers file {self.path}"

    def _where(self, item_id: str, key: str | None = None) -> str:
        return self._doc.where((*self._base, item_id, *([key] if key else [])))

    def _select(self, checklist: Checklist) -> None:
        f = self.file
        if f.checklists is not None:
            if checklist.name not in f.checklists:
                raise UsageError(
                    f"{self.path} has no answers for checklist {checklist.name!r} "
                    f"(it has: {', '.join(f.checklists) or 'none'})"
                )
            self._entries = f.checklists[checklist.name].answers
            self._base = ("checklists", checklist.name, "answers")
            return
        if f.checklist is not None and f.checklist != checklist.name:
            raise UsageError(
                f"{self.path} answers checklist {f.checklist!r}, not {checklist.name!r}"
            )
        self._entries = f.answers or {}
        self._base = ("answers",)

    def preflight(self, checklist: Checklist, items: Sequence[Item], commit: str | None) -> None:
        f = self.file
        self._select(checklist)
        if f.commit is not None and not (commit and commit.startswith(f.commit)):
            raise UsageError(
                f"{self.path} is for commit {f.commit}, "
                f"this run is for {commit or 'an unknown commit'}",
                hint="answers say what a person saw for one commit; write them for this one",
            )
        by_id = {item.id: item for _, item in checklist.items()}
        for item_id, entry in self._entries.items():
            item = by_id.get(item_id)
            if item is None:
                raise ConfigError(
                    f"no item {item_id!r} in checklist {checklist.name}",
                    location=self._where(item_id),
                    hint="`keycliq checklist show " + checklist.name + "` lists the item ids",
                )
            if not is_manual(item):
                raise ConfigError(
                    f"item {item_id!r} is a {item.kind} item verified by keycliq; "
                    "it takes no answer",
                    location=self._where(item_id),
                )
            self._check_entry(item, entry)
        missing = [i for i in items if is_manual(i) and i.required and i.id not in self._entries]
        if missing:
            names = ", ".join(f"{i.id} ({i.kind})" for i in missing)
            raise UsageError(
                f"{self.path} has no answer for required item(s): {names}",
                hint="add them under `answers:` with answer/value, by and reason "
                "(see docs/checklists.md)",
            )

    def _check_entry(self, item: Item, entry: AnswerEntry) -> None:
        where = self._where(item.id)
        if entry.answer == "skip":
            if item.required:
                raise ConfigError(f"required item {item.id!r} cannot be skipped", location=where)
            return
        if isinstance(item, InputItem):
            if entry.value is None:
                raise ConfigError(
                    f"item {item.id!r} is an input item: give `value:`", location=where
                )
            if not item.matches(entry.value):
                raise ConfigError(
                    f"value {entry.value!r} does not match {item.pattern}",
                    location=self._where(item.id, "value"),
                )
        elif entry.value is not None:
            raise ConfigError(
                f"item {item.id!r} is a confirm item: give `answer: yes|no|skip`", location=where
            )

    def ask(self, question: Question) -> Answer:
        entry = self._entries.get(question.item_id)
        if entry is None:
            return Answer("skip", reason=f"not answered in {self.path}", who="answers file")
        return entry.to_answer()


def render_answers(
    checklists: Sequence[Checklist],
    *,
    by: str,
    reason: str,
    values: Mapping[str, str] | None = None,
    commit: str | None = None,
    header: Sequence[str] = (),
) -> str:
    """An answers file (``checklists:`` form) for the required manual items of
    ``checklists``: confirm items ``yes``; input items the value of their variable in
    ``values`` (one without a value is left out, so a run names it). Optional items are
    left out, so they are skipped. Each answer carries ``by`` and ``reason``; each item's
    text is written above it as a comment (``header``: more comment lines at the top). For
    demos and as a starting point to edit."""
    import json

    values = values or {}
    lines = ["# keycliq checklist answers: docs/checklists.md"]
    lines += [f"# {line}".rstrip() for line in header]
    lines.append("version: 1")
    if commit:
        lines.append(f"commit: {json.dumps(commit)}")
    lines.append("checklists:")
    for cl in checklists:
        lines += [f"  {cl.name}:", "    answers:"]
        entries = 0
        for _, item in cl.items():
            if not is_manual(item) or not item.required:
                continue
            if isinstance(item, InputItem):
                if item.name not in values:
                    continue
                answer = f"value: {json.dumps(values[item.name])}"
            else:
                answer = "answer: yes"
            text = " ".join(item.text.split())
            lines += [
                f"      # {text}",
                f"      {item.id}:",
                f"        {answer}",
                f"        by: {json.dumps(by)}",
                f"        reason: {json.dumps(reason)}",
            ]
            entries += 1
        if entries == 0:
            lines[-1] = "    answers: {}"
    return "\n".join(lines) + "\n"


TEMPLATE_BY = "CHANGE ME <you@example.com>"
TEMPLATE_REASON = "CHANGE ME: what you saw, where and when"


def render_template(checklists: Sequence[Checklist]) -> str:
    """An answers-file template for ``checklists`` (``keycliq init``, ``keycliq checklist
    answers``): every required manual item answered, confirm items ``yes`` and input items
    their ``example`` value, each ``by``/``reason`` a ``CHANGE ME`` placeholder. It loads
    and answers the checklists as it is; a person edits it before it is committed."""
    values: dict[str, str] = {}
    for cl in checklists:
        for _, item in cl.items():
            if isinstance(item, InputItem) and item.example is not None:
                values.setdefault(item.name, item.example)
    names = ", ".join(cl.name for cl in checklists)
    return render_answers(
        checklists,
        by=TEMPLATE_BY,
        reason=TEMPLATE_REASON,
        values=values,
        header=[
            f"Template for checklist(s) {names}, written by keycliq.",
            "Before committing: answer only what a person has checked, put who in `by`",
            "and what they saw in `reason`, and replace the example values (e.g. the test",
            "user's id). `keycliq checklist show NAME` prints each item; optional items are",
            "left out (skipped).",
        ],
    )
