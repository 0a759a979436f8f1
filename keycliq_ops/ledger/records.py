"""The ledger's record models (format version 1) and its errors.

A caller builds a :class:`Record` (what happened); :meth:`Ledger.append` stamps it with an
id, a time and the chain hashes and returns the :class:`StoredRecord` as written. Nested
results from other modules (checklists, Dataclips, the step engine) are stored as plain JSON
dumps of the documented shapes below, so this package imports none of those modules.
"""

from __future__ import annotations

import os
import socket
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from keycliq_ops import __version__
from keycliq_ops.base.errors import EXIT_EXTERNAL, EXIT_GATE, EXIT_USAGE, KeycliqError

SCHEMA_VERSION = 1

Action = Literal["deploy", "promote", "rollback", "checklist", "config-change", "secret-rotation"]
ACTIONS: tuple[str, ...] = (
    "deploy",
    "promote",
    "rollback",
    "checklist",
    "config-change",
    "secret-rotation",
)
Outcome = Literal["running", "succeeded", "failed", "aborted"]
OUTCOMES: tuple[str, ...] = ("running", "succeeded", "failed", "aborted")
# What `ledger list` shows: a stored outcome, or `interrupted` for a `running` start record
# that no completion refers to and whose process is gone.
Status = Literal["running", "succeeded", "failed", "aborted", "interrupted"]
STATUSES: tuple[str, ...] = (*OUTCOMES, "interrupted")


class LedgerError(KeycliqError):
    """The ledger file cannot be read or written as a ledger (exit 2)."""

    exit_code = EXIT_USAGE


class NotALedger(LedgerError):
    """The file is not a keycliq ledger (a wrong path, a symlink to another file): it is
    left untouched (exit 2)."""


class LedgerBroken(LedgerError):
    """The hash chain does not verify where a command relies on it: the command refuses
    to decide from it or to append to it (exit 1, the message is ``verify``'s)."""

    exit_code = EXIT_GATE


class LedgerIOError(LedgerError):
    """The operating system refused a read or a write (read-only location, disk full,
    quota, permissions): an outside failure (exit 3). The message says what had already
    happened."""

    exit_code = EXIT_EXTERNAL


class LedgerBusy(KeycliqError):
    """Another process held the ledger lock for longer than the timeout (exit 3)."""

    exit_code = EXIT_EXTERNAL


def jsonable(value: Any) -> Any:
    """Plain JSON data from pydantic models, dataclasses, mappings and sequences."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Actor(_Record):
    """Who ran the action."""

    git_name: str | None = Field(default=None, description="`git config user.name`.")
    git_email: str | None = Field(default=None, description="`git config user.email`.")
    heroku_email: str | None = Field(default=None, description="The Heroku account's email.")

    def display(self) -> str:
        return self.git_name or self.git_email or self.heroku_email or "unknown"


class LedgerStep(_Record):
    """One step of an action (the step engine's ``StepRecord`` dump fits this shape).

    ``status`` is one of: succeeded, failed, skipped, aborted, done-before, not-run, running.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    name: str
    title: str | None = None
    status: str
    started: datetime | None = Field(
        default=None, validation_alias=AliasChoices("started", "started_at")
    )
    duration_ms: int | None = None
    detail: str | None = None
    hint: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="Step facts (JSON).")
    output_tail: list[str] = Field(
        default_factory=list, description="Last output lines of a failed step (scrubbed)."
    )


class DataclipResult(_Record):
    """One Dataclip's verdict and numbers. Never rows: only named numbers are kept."""

    id: str
    verdict: str = Field(description="pass, warn, fail or error.")
    numbers: dict[str, int | float | None] = Field(default_factory=dict)


class Record(_Record):
    """What a caller records: the content of one ledger line (id, time, hashes come later).

    ``checklist`` is a checklist result dumped as JSON (``ChecklistResult.model_dump(
    mode="json")``): top-level facts (``checklist``, ``title``, ``verdict``, ``digest``…) and
    ``items``, a list of objects with ``id``, ``section``, ``verdict``, ``answer``, ``reason``,
    ``who``… Any JSON object is kept as it is. ``details`` holds action-specific JSON facts
    (promotion target ids, the release rolled back to, the config var rotated, ...).
    """

    action: Action
    outcome: Outcome
    ref: str | None = Field(default=None, description="Id of the start record completed.")
    environment: str | None = None
    app: str | None = None
    actor: Actor = Field(default_factory=Actor)
    host: str = Field(default_factory=socket.gethostname)
    pid: int = Field(default_factory=os.getpid)
    keycliq_version: str = __version__
    commit: str | None = None
    branch: str | None = None
    release_id: str | None = None
    release_version: int | None = None
    build_id: str | None = None
    steps: list[LedgerStep] = Field(default_factory=list)
    checklist: dict[str, Any] | None = None
    dataclips: list[DataclipResult] = Field(default_factory=list)
    override_reason: str | None = None
    exit_code: int | None = None
    error: str | None = None
    duration_ms: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("steps", "dataclips", "checklist", "details", "actor", mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        return jsonable(value)


class StoredRecord(Record):
    """A record as written: content plus format version, id, time and chain hashes."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    schema_version: int = Field(
        default=SCHEMA_VERSION, alias="schema", description="Record format version."
    )
    id: str = Field(description="Sortable id, e.g. `20261128T030512-3fa9`.")
    ts: datetime = Field(description="When the record was written (UTC).")
    prev: str = Field(description="`hash` of the previous record (64 zeros for the first).")
    hash: str = Field(description="SHA-256 of this record's canonical form without `hash`.")

    @property
    def is_start(self) -> bool:
        return self.ref is None and self.outcome == "running"
