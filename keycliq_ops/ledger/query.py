"""Runs (a start record plus its completion), their derived status, and list filters."""

from __future__ import annotations

import os
import re
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, field_validator

from keycliq_ops.base.errors import UsageError
from keycliq_ops.ledger.records import ACTIONS, STATUSES, Status, StoredRecord

# A `running` start record from another host is shown as running for this long, then as
# interrupted (the longest a keycliq action can wait on Heroku is about this).
STALE_AFTER = timedelta(hours=4)


class Filters(BaseModel):
    """What `ledger list` keeps (all given filters must match)."""

    environment: str | None = None
    action: str | None = None
    status: str | None = Field(default=None, description="Derived status (outcome).")
    since: datetime | None = Field(default=None, description="A naive time is taken as UTC.")

    @field_validator("since")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    def check(self) -> Filters:
        if self.action is not None and self.action not in ACTIONS:
            raise UsageError(
                f"unknown action {self.action!r}", hint=f"one of: {', '.join(ACTIONS)}"
            )
        if self.status is not None and self.status not in STATUSES:
            raise UsageError(
                f"unknown outcome {self.status!r}", hint=f"one of: {', '.join(STATUSES)}"
            )
        return self

    def start_matches(self, record: dict[str, Any]) -> bool:
        if self.environment is not None and record.get("environment") != self.environment:
            return False
        return self.action is None or record.get("action") == self.action


_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SINCE_HINT = "use e.g. 7d, 12h, 30m, 2w, 2026-11-01 or 2026-11-01T09:30"


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``7d``, ``12h``, ``30m``, ``2w``, or an ISO date/time (UTC unless it says otherwise)."""
    now = now or datetime.now(UTC)
    m = _RELATIVE.match(text)
    if m:
        amount, unit = m.group(1), _UNITS[m.group(2)]
        try:
            return now - timedelta(**{unit: int(amount)})
        except (OverflowError, ValueError):
            raise UsageError(
                f"--since {text!r} reaches back before the year 1 (no ledger is that old)",
                hint="omit --since to see everything, or give e.g. 520w or 2000-01-01",
            ) from None
    if len(text) > 64:
        raise UsageError(f"--since of {len(text)} characters is not a time", hint=_SINCE_HINT)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--since {text!r} is not a time", hint=_SINCE_HINT) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class RunSummary(BaseModel):
    """One row of `ledger list`."""

    id: str
    ts: datetime
    action: str
    environment: str | None
    app: str | None
    commit: str | None
    branch: str | None
    release_version: int | None
    actor: str
    status: Status
    duration_ms: int | None
    exit_code: int | None
    completion_id: str | None


class Run(BaseModel):
    """An action as `list`, `show` and `export` see it: its start and its completion."""

    start: StoredRecord
    end: StoredRecord | None = None
    status: Status

    @property
    def id(self) -> str:
        return self.start.id

    def value(self, name: str) -> Any:
        """A field from the completion when it has one, else from the start record."""
        if self.end is not None:
            got = getattr(self.end, name)
            if got not in (None, [], {}):
                return got
        return getattr(self.start, name)

    @property
    def duration_ms(self) -> int | None:
        if self.end is None:
            return self.start.duration_ms
        if self.end.duration_ms is not None:
            return self.end.duration_ms
        return int((self.end.ts - self.start.ts).total_seconds() * 1000)

    def summary(self) -> RunSummary:
        return RunSummary(
            id=self.start.id,
            ts=self.start.ts,
            action=self.start.action,
            environment=self.start.environment,
            app=self.value("app"),
            commit=self.value("commit"),
            branch=self.value("branch"),
            release_version=self.value("release_version"),
            actor=self.value("actor").display(),
            status=self.status,
            duration_ms=self.duration_ms,
            exit_code=self.value("exit_code"),
            completion_id=self.end.id if self.end else None,
        )


def derive_status(
    start: StoredRecord, end: StoredRecord | None, now: datetime | None = None
) -> Status:
    """The outcome to show: the completion's; or, for an open start, running/interrupted."""
    if end is not None:
        return end.outcome
    if start.outcome != "running":
        return start.outcome
    if start.host == socket.gethostname():
        return "running" if _alive(start.pid) else "interrupted"
    now = now or datetime.now(UTC)
    return "running" if now - start.ts < STALE_AFTER else "interrupted"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
