"""The shapes of Dataclips: parsed checks (dataclasses) and run results (pydantic)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from keycliq_ops.base.errors import UsageError

SCHEMA_VERSION = 1
MAX_SAMPLES = 20

Verdict = Literal["pass", "warn", "fail", "error", "info"]
RunVerdict = Literal["pass", "warn", "fail", "error"]
Level = Literal["expect", "warn"]
Shape = Literal["one-row", "rows"]
ParamType = Literal["text", "integer", "numeric", "boolean", "timestamp"]
Severity = Literal["critical", "high", "medium", "low"]

PARAM_TYPES: tuple[str, ...] = ("text", "integer", "numeric", "boolean", "timestamp")
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Param:
    """A declared parameter: ``-- param: userId text required  the user's id``."""

    name: str
    type: ParamType
    required: bool
    default: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Operand:
    """The right-hand side of a comparison: a literal or another column."""

    kind: Literal["number", "string", "bool", "column"]
    value: Any

    def __str__(self) -> str:
        if self.kind == "string":
            return "'" + str(self.value).replace("'", "''") + "'"
        if self.kind == "bool":
            return "true" if self.value else "false"
        if self.kind == "column":
            return str(self.value)
        return _fmt_number(self.value)


@dataclass(frozen=True)
class Expectation:
    """One parsed ``expect:``/``warn:`` line.

    ``subject`` is ``rows`` (the row count), ``every`` (each row's ``column``) or ``column``
    (the single row's ``column``). ``op`` is one of ``= != < <= > >=`` or ``between``
    (then ``low``/``high`` hold the bounds).
    """

    level: Level
    text: str
    subject: Literal["rows", "every", "column"]
    column: str | None
    op: str
    right: Operand | None = None
    low: Operand | None = None
    high: Operand | None = None
    line: int = 0
    note: str = ""  # why it may fail: the ``why:`` continuation lines under it

    def with_note(self, note: str) -> Expectation:
        return replace(self, note=note)

    @property
    def shape(self) -> Shape:
        return "one-row" if self.subject == "column" else "rows"


@dataclass(frozen=True)
class Dataclip:
    """One check, parsed from its ``.sql`` file."""

    id: str
    title: str
    path: Path
    sql: str  # the body as written (runs in psql / a Heroku Dataclip)
    query: str  # the body with ``$n`` placeholders, sent to the server
    bind_names: tuple[str, ...]  # the parameter name for each ``$n``
    description: str = ""
    params: tuple[Param, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    severity: Severity = "medium"
    tags: tuple[str, ...] = ()
    returns: Shape = "rows"
    header_lines: int = 0
    layer: Literal["shipped", "repo"] = "shipped"  # the catalogue layer it comes from
    overrides: Path | None = None  # the shipped file it replaces (same id), if any

    @property
    def origin(self) -> str:
        """``shipped``, ``repo`` or ``repo (overrides shipped)``."""
        return "repo (overrides shipped)" if self.overrides is not None else self.layer

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def source(self) -> str:
        return self.path.read_text(encoding="utf-8")


@dataclass
class Catalog:
    """The checks of a catalogue, by id (ids are matched case-insensitively): the shipped
    folder's, then the repository's (same id: the repository's check replaces the shipped
    one). ``folder`` is the highest folder, ``folders`` all of them, highest first."""

    folder: Path
    checks: dict[str, Dataclip] = field(default_factory=dict)
    folders: tuple[Path, ...] = ()
    description: str = ""

    def get(self, check_id: str) -> Dataclip:
        found = self.checks.get(check_id) or next(
            (c for i, c in self.checks.items() if i.lower() == check_id.lower()), None
        )
        if found is None:
            known = ", ".join(self.checks) or "none"
            raise UsageError(
                f"unknown Dataclip {check_id!r} (known: {known})",
                hint=f"the catalogue is {self.description or self.folder}; "
                "`keycliq dataclips list` shows it",
            )
        return found

    def all(self) -> list[Dataclip]:
        return list(self.checks.values())

    def ids(self) -> list[str]:
        return list(self.checks)

    def with_tag(self, tag: str) -> list[Dataclip]:
        return [c for c in self.checks.values() if tag in c.tags]


def _fmt_number(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


class _ClipModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExpectationResult(_ClipModel):
    """How one expectation fared: ``status`` is pass, fail (``expect:``), warn (``warn:``)
    or error (the result did not fit its shape)."""

    text: str = Field(description="The expectation as written, e.g. `both_null = 0`.")
    level: Level
    status: Literal["pass", "fail", "warn", "error"]
    actual: str | None = Field(default=None, description="What was found, e.g. `both_null = 3`.")
    detail: str | None = Field(default=None, description="Why it is an error, when it is.")
    note: str | None = Field(
        default=None,
        description="The check's `why:` for this expectation (what produces such rows, e.g. "
        "the app's write path); also appended to `actual` when it did not pass.",
    )


class CheckResult(_ClipModel):
    """The outcome of one check."""

    id: str
    title: str
    verdict: Verdict
    severity: Severity = "medium"
    returns: Shape = Field(default="rows", description="`one-row` or `rows`.")
    duration_ms: float = Field(description="Time on the database for this check (ms).")
    columns: list[str] = Field(default_factory=list)
    rows: list[list[Any]] = Field(
        default_factory=list,
        description="Rows returned (one-row checks; info checks, up to the sample limit) or, "
        "for row-returning checks with expectations, the failing rows as samples.",
    )
    row_count: int = 0
    truncated: bool = Field(default=False, description="More rows existed than are shown.")
    expectations: list[ExpectationResult] = Field(default_factory=list)
    error: str | None = None
    numbers: dict[str, float | int] = Field(
        default_factory=dict,
        description="Numeric values kept for history: a one-row check's numeric columns, "
        "or `rows` (the row count). Never row data.",
    )

    @property
    def samples(self) -> list[list[Any]]:
        return self.rows


class DataclipRun(_ClipModel):
    """The outcome of running a set of checks against one database."""

    schema_version: int = SCHEMA_VERSION
    target: str = Field(description="The database, without credentials (`host:port/db`).")
    started_at: datetime
    duration_ms: float
    verdict: RunVerdict
    ok: bool = Field(description="No check failed or errored (warnings allowed).")
    params: dict[str, str] = Field(default_factory=dict)
    results: list[CheckResult]

    def result(self, check_id: str) -> CheckResult:
        for r in self.results:
            if r.id.lower() == check_id.lower():
                return r
        raise KeyError(check_id)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.verdict] = out.get(r.verdict, 0) + 1
        return out
