"""The checklist file format (``catalog/checklists/*.yaml``) as pydantic models.

A checklist is a title and sections of items. Every item has a stable ``id``, a ``text``
(the instruction), optional ``help`` (commands or SQL to look at), ``required`` (default
true), ``source`` (``team``: the team's own list; ``keycliq``: added by keycliq) and a
``kind``: ``confirm`` and ``input`` are asked of a person; ``dataclip``, ``command``,
``http`` and ``dyno`` are verified by keycliq. See docs/checklists.md.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from keycliq_ops.checklists.jsonexpect import JsonExpectation, parse_path
from keycliq_ops.checklists.template import BUILTINS, placeholders

ITEM_ID = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
VAR_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
KINDS: tuple[str, ...] = ("confirm", "input", "dataclip", "command", "http", "dyno")
MANUAL_KINDS: frozenset[str] = frozenset({"confirm", "input"})


class _StrictItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Item(_StrictItem):
    id: str = Field(
        pattern=ITEM_ID,
        description="Stable id (lower case, digits, `-`, `_`, `.`): answers, results and "
        "`--resume` refer to it, so do not rename it lightly.",
    )
    text: str = Field(min_length=1, description="The instruction, one or two sentences.")
    help: str | None = Field(
        default=None, description="Commands or SQL to look at, shown under the text."
    )
    required: bool = Field(
        default=True, description="An optional item may be skipped without failing the run."
    )
    source: Literal["team", "keycliq"] = Field(
        default="team",
        description="`team`: the item is in the team's own list (runbook); `keycliq`: keycliq "
        "adds it (shown as keycliq's own in `show` and in results).",
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()

    def templates(self) -> list[str]:
        """Every string of the item that may hold ``{name}`` placeholders."""
        return [self.text, *([self.help] if self.help else [])]


class ConfirmItem(_Item):
    """A person confirms: yes, no (with what is wrong) or, when optional, skip (with why)."""

    kind: Literal["confirm"]


class InputItem(_Item):
    """A value to capture; later items use it as ``{name}``."""

    kind: Literal["input"]
    name: str = Field(pattern=VAR_NAME, description="Variable name, e.g. `userId`.")
    pattern: str = Field(description="Regular expression the whole value must match.")
    example: str | None = Field(default=None, description="An example value, shown in prompts.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"bad regular expression {v!r}: {exc}") from None
        return v

    @field_validator("name")
    @classmethod
    def _not_builtin(cls, v: str) -> str:
        if v in BUILTINS:
            raise ValueError(f"{v!r} is a built-in variable; choose another name")
        return v

    def matches(self, value: str) -> bool:
        return re.fullmatch(self.pattern, value) is not None


class DataclipItem(_Item):
    """Runs named Dataclips; passes when none fails or errors (warn passes)."""

    kind: Literal["dataclip"]
    dataclips: list[str] = Field(min_length=1, description="Dataclip ids, e.g. `[E1, E2, E3]`.")
    params: dict[str, str] = Field(
        default_factory=dict, description="Dataclip parameters, e.g. `{userId: '{userId}'}`."
    )
    fail_on_warn: bool = Field(default=False, description="Treat a `warn` verdict as failed.")

    def templates(self) -> list[str]:
        return [*super().templates(), *self.params.values()]


class CommandItem(_Item):
    """Runs a local command (no shell); passes on exit 0; the output tail is kept."""

    kind: Literal["command"]
    command: str = Field(description="The command line, split like a shell would (no pipes).")
    timeout: float = Field(default=300, gt=0, description="Seconds before it is stopped.")

    @field_validator("command")
    @classmethod
    def _splits(cls, v: str) -> str:
        try:
            argv = shlex.split(v)
        except ValueError as exc:
            raise ValueError(f"cannot split the command line: {exc}") from None
        if not argv:
            raise ValueError("must not be empty")
        return v

    def argv(self) -> list[str]:
        return shlex.split(self.command)

    def templates(self) -> list[str]:
        return [*super().templates(), self.command]


class HttpItem(_Item):
    """GETs a URL of the environment and checks the status and, optionally, a text."""

    kind: Literal["http"]
    url: str = Field(description="`{app_url}/path` (or an absolute http(s) URL).")
    expect_status: int = Field(default=200, ge=100, le=599, description="Expected status.")
    expect_text: str | None = Field(default=None, description="Text the body must contain.")
    timeout: float = Field(default=10, gt=0, description="Seconds for the whole request.")
    follow_redirects: bool = Field(default=True, description="Follow redirects first.")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("{app_url}", "http://", "https://")):
            raise ValueError("must start with {app_url} or http(s)://")
        return v

    def templates(self) -> list[str]:
        extra = [self.expect_text] if self.expect_text else []
        return [*super().templates(), self.url, *extra]


class DynoItem(_Item):
    """Runs a command in an attached one-off dyno of the environment's app; checks its exit
    status and its output (texts, and JSON paths of the last JSON document printed)."""

    kind: Literal["dyno"]
    command: str = Field(
        min_length=1,
        description="The command line the dyno runs (by a shell there, as `heroku run` does).",
    )
    timeout: float = Field(default=300, gt=0, le=3600, description="Seconds before giving up.")
    expect_exit: int = Field(default=0, ge=0, le=255, description="The exit status expected.")
    expect_text: list[str] = Field(
        default_factory=list, description="Texts the output must contain (one or a list)."
    )
    expect_json: dict[str, JsonExpectation] = Field(
        default_factory=dict,
        description="`path: expectation` on the last JSON document of the output.",
    )

    @field_validator("command")
    @classmethod
    def _command(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()

    @field_validator("expect_text", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    @field_validator("expect_text")
    @classmethod
    def _texts(cls, v: list[str]) -> list[str]:
        if any(not t.strip() for t in v):
            raise ValueError("an expected text must not be blank")
        return v

    @field_validator("expect_json")
    @classmethod
    def _paths(cls, v: dict[str, JsonExpectation]) -> dict[str, JsonExpectation]:
        for path, expectation in v.items():
            try:
                steps = parse_path(path)
            except ValueError as exc:
                raise ValueError(f"expect_json path {path!r}: {exc}") from None
            if expectation.order is not None and None not in steps:
                raise ValueError(
                    f"expect_json path {path!r}: `order` needs a path with [*] "
                    "(the values compared in order)"
                )
        return v

    def templates(self) -> list[str]:
        return [*super().templates(), self.command, *self.expect_text]


Item = Annotated[
    ConfirmItem | InputItem | DataclipItem | CommandItem | HttpItem | DynoItem,
    Field(discriminator="kind"),
]


def is_manual(item: Item) -> bool:
    """Whether a person answers the item (``confirm``, ``input``)."""
    return item.kind in MANUAL_KINDS


class Section(_StrictItem):
    title: str = Field(min_length=1, description="Section heading.")
    items: list[Item] = Field(min_length=1, description="The items, in order.")


class Checklist(_StrictItem):
    """One checklist file."""

    version: Literal[1] = Field(default=1, description="Format version.")
    title: str = Field(min_length=1, description="What the checklist is for.")
    description: str | None = Field(default=None, description="A paragraph shown first.")
    sections: list[Section] = Field(min_length=1, description="Sections, in order.")
    # Set by the loader (not in the file).
    name: str = Field(default="", exclude=True)
    source: str = Field(default="", exclude=True)
    digest: str = Field(default="", exclude=True)

    def items(self) -> Iterator[tuple[Section, Item]]:
        for section in self.sections:
            for item in section.items:
                yield section, item

    def item_ids(self) -> list[str]:
        return [item.id for _, item in self.items()]

    def variables_used(self) -> set[str]:
        return {n for _, item in self.items() for t in item.templates() for n in placeholders(t)}
