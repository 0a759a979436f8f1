"""Dataclip history: the numbers of every run, one JSON line per run, and trends over them.

A line holds ``{"v": 1, "at", "target", "source", "checks": {ID: {"verdict", "duration_ms",
"row_count", "numbers"}}}``: counts and aggregate numbers only, never row data and never a
database URL (``target`` is the app name or ``host:port/db``). ``source`` says who ran the
checks: ``dataclips run`` (the command; lines without a source are its older ones) or an
action's gates (``deploy``, ``promote``, ``rollback`` …, with the ledger id of its run in
``ledger_id``: the checks of its checklist and of its Dataclip gate, one line per run).
Appends take a file lock and write the whole line at once, so concurrent runs never
interleave.

A trend has one point per line: the numbers of one moment (an action's checklist and gate
run minutes apart; the gate's values win for a check both ran).

Without a ``keycliq.yaml`` the history lives beside the ledger: next to ``$KEYCLIQ_LEDGER``
when that is set, else in ``$XDG_STATE_HOME/keycliq/`` (``~/.local/state/keycliq/``).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from keycliq_ops.base.errors import ConfigError
from keycliq_ops.dataclips.clips import DataclipRun

HISTORY_NAME = "dataclips-history.jsonl"
HISTORY_VERSION = 1


def default_history_path() -> Path:
    """Where history goes when there is no keycliq.yaml (see the module docstring)."""
    ledger = os.environ.get("KEYCLIQ_LEDGER")
    if ledger:
        return Path(ledger).expanduser().resolve().parent / HISTORY_NAME
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "keycliq" / HISTORY_NAME


COMMAND_SOURCE = "dataclips run"


def record(run: DataclipRun, source: str = COMMAND_SOURCE) -> dict[str, Any]:
    """The history line for ``run`` (what is kept: numbers, verdicts, durations, counts)."""
    return {
        "v": HISTORY_VERSION,
        "at": run.started_at.isoformat(),
        "target": run.target,
        "source": source,
        "checks": {
            r.id: {
                "verdict": r.verdict,
                "duration_ms": r.duration_ms,
                "row_count": r.row_count,
                "numbers": r.numbers,
            }
            for r in run.results
        },
    }


def action_record(
    *,
    at: datetime,
    target: str,
    source: str,
    ledger_id: str,
    checks: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The history line of an action's gates (``checks``: ``{ID: {"verdict", "numbers"}}``,
    what its checklist's Dataclip items and its Dataclip gate found)."""
    return {
        "v": HISTORY_VERSION,
        "at": at.isoformat(),
        "target": target,
        "source": source,
        "ledger_id": ledger_id,
        "checks": {
            check_id: {
                "verdict": str(data.get("verdict", "")),
                "numbers": {
                    k: v
                    for k, v in (data.get("numbers") or {}).items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                },
            }
            for check_id, data in checks.items()
        },
    }


def append_run(path: Path, run: DataclipRun, source: str = COMMAND_SOURCE) -> None:
    """Append ``run``'s numbers to the history file (created with its folder if needed)."""
    append_line(path, record(run, source))


def append_line(path: Path, entry: dict[str, Any]) -> None:
    """Append one history line (a :func:`record` or an :func:`action_record`)."""
    from filelock import FileLock

    line = json.dumps(entry, separators=(",", ":"), sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=30):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = "\n" + line  # never glue a record onto a torn one
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def read_history(path: Path) -> list[dict[str, Any]]:
    """Every run recorded in ``path`` (oldest first); a damaged line is a ConfigError."""
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            ok = isinstance(entry, dict) and isinstance(entry.get("checks"), dict)
        except json.JSONDecodeError as exc:
            if exc.pos >= len(line.rstrip()) or exc.msg.startswith("Unterminated string"):
                continue  # a torn record (a crash mid-write): JSON cut short, skipped
            ok = False
        if not ok:
            raise ConfigError(
                "not a Dataclip history record",
                location=f"{path}:{n}",
                hint="remove or repair that line",
            )
        entries.append(entry)
    return entries


def expected_durations(path: Path, target: str) -> dict[str, float]:
    """The last recorded duration of each check on ``target`` (to start the slowest first)."""
    out: dict[str, float] = {}
    try:
        entries = read_history(path)
    except (ConfigError, OSError):
        return out
    for entry in entries:
        if entry.get("target") != target:
            continue
        for check_id, data in entry["checks"].items():
            if isinstance(data, dict) and isinstance(data.get("duration_ms"), int | float):
                out[check_id] = float(data["duration_ms"])
    return out


class _HistoryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrendPoint(_HistoryModel):
    at: datetime
    target: str
    verdict: str
    source: str = COMMAND_SOURCE  # "dataclips run", or the action whose gates ran it
    ledger_id: str | None = None  # the action's run, when an action ran it


class TrendSeries(_HistoryModel):
    """One number over the runs: ``values`` oldest first (None where a run lacked it)."""

    name: str
    values: list[float | int | None]
    last: float | int | None
    previous: float | int | None
    change: float | int | None
    change_ratio: float | None
    jump: bool


class Trend(_HistoryModel):
    schema_version: int = 1
    check: str
    target: str | None
    jump_ratio: float
    points: list[TrendPoint]
    series: list[TrendSeries]

    @property
    def jumps(self) -> list[str]:
        return [s.name for s in self.series if s.jump]


def _jumped(prev: float, cur: float, ratio: float) -> tuple[float | None, bool]:
    if prev == 0:
        return None, cur != 0
    r = (cur - prev) / abs(prev)
    return r, abs(r) > ratio


def trend(
    path: Path,
    check_id: str,
    *,
    target: str | None = None,
    last: int = 10,
    jump_ratio: float = 0.5,
) -> Trend:
    """The last ``last`` runs of ``check_id`` (on ``target`` when given), per number.

    A number whose latest value moved from the previous one by more than ``jump_ratio`` of it
    (or away from zero) is flagged as a jump.
    """
    runs = [
        e
        for e in read_history(path)
        if any(k.lower() == check_id.lower() for k in e["checks"])
        and (target is None or e.get("target") == target)
    ][-max(1, last) :]
    points: list[TrendPoint] = []
    rows: list[dict[str, Any]] = []
    real_id = check_id
    for e in runs:
        key = next(k for k in e["checks"] if k.lower() == check_id.lower())
        real_id = key
        data = e["checks"][key]
        points.append(
            TrendPoint(
                at=e["at"],
                target=str(e.get("target", "")),
                verdict=str(data["verdict"]),
                source=str(e.get("source") or COMMAND_SOURCE),
                ledger_id=e.get("ledger_id"),
            )
        )
        numbers = data.get("numbers") or {}
        rows.append({k: v for k, v in numbers.items() if isinstance(v, int | float)})
    names: list[str] = []
    for numbers in rows:
        names.extend(k for k in numbers if k not in names)
    series: list[TrendSeries] = []
    for name in names:
        values = [numbers.get(name) for numbers in rows]
        present = [v for v in values if v is not None]
        cur = values[-1] if values else None
        prev = present[-2] if cur is not None and len(present) >= 2 else None
        change = ratio = None
        jump = False
        if cur is not None and prev is not None:
            change = cur - prev
            ratio, jump = _jumped(float(prev), float(cur), jump_ratio)
        series.append(
            TrendSeries(
                name=name,
                values=values,
                last=cur,
                previous=prev,
                change=change,
                change_ratio=None if ratio is None else round(ratio, 4),
                jump=jump,
            )
        )
    return Trend(check=real_id, target=target, jump_ratio=jump_ratio, points=points, series=series)
