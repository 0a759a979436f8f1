"""Running Dataclips: concurrently, read-only, bounded, with parameters bound by the server.

Each worker opens one :class:`keycliq_ops.adapters.db.Session` (read-only session,
``statement_timeout``/``lock_timeout``, TLS for remote hosts) and runs checks from a shared
queue, each in its own read-only transaction that is always rolled back. At most
``settings.concurrency`` connections are open; the wall time is about the slowest check's.

A check's own failure (a syntax error, a write attempt, a timeout: the adapter's
:class:`QueryError`) is that check's ``error`` verdict; losing the database (cannot connect,
connection dropped: :class:`DatabaseError`) raises it for the whole run.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from keycliq_ops.base.errors import Interrupted, QueryError, UsageError
from keycliq_ops.config.settings import DataclipSettings
from keycliq_ops.dataclips.clips import (
    MAX_SAMPLES,
    Catalog,
    CheckResult,
    Dataclip,
    DataclipRun,
    ExpectationResult,
    Param,
    RunVerdict,
    Verdict,
)
from keycliq_ops.dataclips.expect import evaluate
from keycliq_ops.dataclips.verdicts import is_failing, worst

if TYPE_CHECKING:
    from keycliq_ops.adapters.db import DbSession

ProgressCallback = Callable[[CheckResult], None]


# --------------------------------------------------------------------------- parameters


def _convert(p: Param, raw: str, check_id: str) -> Any:
    try:
        if p.type == "text":
            return raw
        if p.type == "integer":
            return int(raw.strip())
        if p.type == "numeric":
            value = Decimal(raw.strip())
            if not value.is_finite():
                raise ValueError(raw)
            return value
        if p.type == "boolean":
            low = raw.strip().lower()
            if low in ("true", "yes", "on", "1", "t", "y"):
                return True
            if low in ("false", "no", "off", "0", "f", "n"):
                return False
            raise ValueError(raw)
        if p.type == "timestamp":
            return datetime.fromisoformat(raw.strip())
    except (ValueError, ArithmeticError):
        pass
    raise UsageError(
        f"--param {p.name}: {raw!r} is not a valid {p.type} (Dataclip {check_id})",
    )


def bind_values(clip: Dataclip, params: Mapping[str, str]) -> list[Any]:
    """The values for ``$1…$n`` of ``clip``; a missing required parameter is a UsageError."""
    values: list[Any] = []
    for name in clip.bind_names:
        p = clip.param(name)
        assert p is not None  # the parser guarantees every :name is declared
        if name in params:
            values.append(_convert(p, params[name], clip.id))
        elif p.default is not None:
            values.append(_convert(p, p.default, clip.id))
        elif p.required:
            raise UsageError(
                f"Dataclip {clip.id} needs the parameter {name} ({p.type}"
                f"{': ' + p.description if p.description else ''})",
                hint=f"pass --param {name}=VALUE",
            )
        else:
            values.append(None)
    return values


# --------------------------------------------------------------------------- results


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() and abs(v) < 2**53 else float(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, bytes | memoryview):
        return "\\x" + bytes(v).hex()
    if isinstance(v, dict | list):
        return v
    return str(v)


def _numbers(clip: Dataclip, columns: list[str], rows: list[Any], row_count: int) -> dict[str, Any]:
    if clip.returns == "one-row" and row_count == 1:
        out: dict[str, float | int] = {}
        for name, value in zip(columns, rows[0], strict=True):
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, int):
                out[name] = value
            elif isinstance(value, float | Decimal):
                f = float(value)
                if math.isfinite(f):
                    out[name] = int(f) if isinstance(value, Decimal) and f.is_integer() else f
        return out
    return {"rows": row_count}


def judge(
    clip: Dataclip, columns: list[str], rows: list[Any], row_count: int, max_rows: int
) -> tuple[Verdict, list[ExpectationResult], list[list[Any]], bool]:
    """Evaluate the expectations; return the verdict, their results, the rows to show and
    whether more rows existed than are shown."""
    results: list[ExpectationResult] = []
    failing: set[int] = set()
    for e in clip.expectations:
        res, bad = evaluate(e, columns, rows, row_count)
        results.append(res)
        if res.status != "pass":
            failing.update(bad)
    statuses = {r.status for r in results}
    verdict: Verdict
    if not results:
        verdict = "info"
    elif "error" in statuses:
        verdict = "error"
    elif "fail" in statuses:
        verdict = "fail"
    elif "warn" in statuses:
        verdict = "warn"
    else:
        verdict = "pass"
    if clip.returns == "rows" and results:
        # The rows are the failures: show them as samples (none when the check passed).
        chosen = [rows[i] for i in sorted(failing)]
        rows_failed = any(
            e.subject == "rows" and r.status != "pass"
            for e, r in zip(clip.expectations, results, strict=True)
        )
        total = row_count if rows_failed else len(chosen)
    else:
        chosen = list(rows)
        total = row_count
    shown = [[_jsonable(v) for v in row] for row in chosen[:max_rows]]
    return verdict, results, shown, total > len(shown)


def _statement_error(exc: QueryError, settings: DataclipSettings) -> str:
    sqlstate = exc.sqlstate or ""
    primary = exc.detail
    if sqlstate == "25006":
        return f"the check tried to write ({primary}); Dataclips run read-only, nothing was written"
    if sqlstate == "57014":
        return f"stopped by statement_timeout after {settings.statement_timeout_ms} ms"
    if sqlstate == "55P03":
        return f"waited longer than lock_timeout ({settings.lock_timeout_ms} ms) for a lock"
    if sqlstate == "42P08" or (sqlstate.startswith("42") and "$" in primary):
        return f"[{sqlstate}] {primary} (a parameter's type could not be determined; add a cast)"
    return f"[{sqlstate}] {primary}" if sqlstate else primary


# --------------------------------------------------------------------------- running


class _Runner:
    def __init__(
        self,
        url: str,
        checks: Sequence[tuple[Dataclip, list[Any]]],
        settings: DataclipSettings,
        max_rows: int,
    ) -> None:
        self.url = url
        self.settings = settings
        self.max_rows = max_rows
        self.parallel_workers: int | None = None
        self.todo: queue.SimpleQueue[tuple[int, Dataclip, list[Any]]] = queue.SimpleQueue()
        for i, (clip, values) in enumerate(checks):
            self.todo.put((i, clip, values))
        self.done: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sessions: list[DbSession] = []

    def run_one(self, session: DbSession, clip: Dataclip, values: list[Any]) -> CheckResult:
        """One check on ``session``; its own failure is its ``error`` verdict, a lost
        connection raises :class:`DatabaseError`."""
        t0 = time.perf_counter()
        columns: list[str] = []
        rows: list[Any] = []
        row_count = 0
        error: str | None = None
        every = any(e.subject == "every" for e in clip.expectations)
        try:
            got = session.query(
                clip.query,
                values,
                max_rows=None if every else self.max_rows,
                action=f"running {clip.id}",
            )
        except QueryError as exc:
            error = _statement_error(exc, self.settings)
        else:
            if got.columns is None:
                error = "the statement returned no result set (a Dataclip must be a query)"
            else:
                columns, rows, row_count = got.columns, got.rows, got.row_count
        duration = (time.perf_counter() - t0) * 1000
        base = {
            "id": clip.id,
            "title": clip.title,
            "severity": clip.severity,
            "returns": clip.returns,
            "duration_ms": round(duration, 2),
        }
        if error is not None:
            return CheckResult(
                **base,
                verdict="error",
                columns=columns,
                error=error,
                expectations=[
                    ExpectationResult(
                        text=e.text, level=e.level, status="error", detail="not evaluated"
                    )
                    for e in clip.expectations
                ],
            )
        verdict, exp_results, shown, truncated = judge(
            clip, columns, rows, row_count, self.max_rows
        )
        return CheckResult(
            **base,
            verdict=verdict,
            columns=columns,
            rows=shown,
            row_count=row_count,
            truncated=truncated,
            expectations=exp_results,
            numbers=_numbers(clip, columns, rows, row_count),
        )

    def worker(self) -> None:
        """Connect, then take checks from the queue until it is empty or the run stops.

        Messages to the caller: ``("result", index, CheckResult)``, ``("fatal", exc)`` (the
        database went away mid-run, or a bug: re-raised as it is), ``("no-connection", exc)``
        (this worker could not connect; the others carry on) and always a final ``("exit",)``.
        """
        from keycliq_ops.adapters.db import DbSession

        session: DbSession | None = None
        try:
            if self.stop.is_set():
                return
            try:
                session = DbSession.open(
                    self.url,
                    read_only=True,
                    statement_timeout_ms=self.settings.statement_timeout_ms,
                    lock_timeout_ms=self.settings.lock_timeout_ms,
                    application_name="keycliq dataclips",
                    parallel_workers=self.parallel_workers,
                )
            except BaseException as exc:  # handed to the calling thread, which raises it
                self.done.put(("no-connection", exc))
                return
            with self.lock:
                self.sessions.append(session)
            while not self.stop.is_set():
                try:
                    index, clip, values = self.todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    result = self.run_one(session, clip, values)
                except BaseException as exc:  # handed to the calling thread, which raises it
                    self.stop.set()
                    self.done.put(("fatal", exc))
                    return
                self.done.put(("result", index, result))
        finally:
            if session is not None:
                with self.lock:
                    if session in self.sessions:
                        self.sessions.remove(session)
                session.close()
            self.done.put(("exit",))

    def cancel(self) -> None:
        """Stop the run: no new check starts, the running statements are cancelled."""
        self.stop.set()
        with self.lock:
            for session in list(self.sessions):
                session.cancel()


def _order(checks: Sequence[Dataclip], expected_ms: Mapping[str, float] | None) -> list[int]:
    """Longest expected first (so the slowest check starts at once); else catalogue order."""
    idx = list(range(len(checks)))
    if expected_ms:
        idx.sort(key=lambda i: -expected_ms.get(checks[i].id, 0.0))
    return idx


def run_dataclips(
    catalog: Catalog,
    ids: Sequence[str],
    database_url: str,
    *,
    params: Mapping[str, str] | None = None,
    settings: DataclipSettings | None = None,
    max_rows: int = MAX_SAMPLES,
    target: str | None = None,
    expected_ms: Mapping[str, float] | None = None,
    on_result: ProgressCallback | None = None,
    strict_params: bool = False,
) -> DataclipRun:
    """Run the checks ``ids`` of ``catalog`` against ``database_url``; return the results.

    ``params`` feeds the checks' declared parameters; with ``strict_params`` one that no
    selected check takes is a UsageError (the CLI's typo guard; gates pass shared params).
    ``expected_ms`` (e.g. durations from history) starts the slowest checks first.
    ``on_result`` is called (in the calling thread) as each check finishes. ``target`` is the
    label recorded for the database (default: ``host:port/dbname``, no credentials).
    """
    from keycliq_ops.adapters import db

    settings = settings or DataclipSettings()
    params = dict(params or {})
    if not ids:
        raise UsageError("no Dataclip ids given", hint="`keycliq dataclips list` shows them")
    clips: list[Dataclip] = []
    for check_id in ids:
        clip = catalog.get(check_id)
        if clip not in clips:
            clips.append(clip)
    declared = {p.name for c in clips for p in c.params}
    unknown = sorted(set(params) - declared)
    if unknown and strict_params:
        raise UsageError(
            f"--param {unknown[0]}: no selected Dataclip takes it"
            + (f" (they take: {', '.join(sorted(declared))})" if declared else ""),
        )
    bound = [(clip, bind_values(clip, params)) for clip in clips]
    db.conninfo(database_url)  # a malformed URL or sslmode=disable is a usage error, now
    label = target or db.describe(database_url)
    order = _order(clips, expected_ms)
    runner = _Runner(database_url, [bound[i] for i in order], settings, max_rows)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    results: dict[int, CheckResult] = {}
    fatal: BaseException | None = None
    no_connection: BaseException | None = None
    n_workers = min(settings.concurrency, len(clips))
    runner.parallel_workers = (
        settings.parallel_workers
        if settings.parallel_workers is not None
        else (0 if n_workers > 1 else None)
    )
    threads = [
        threading.Thread(target=runner.worker, name=f"dataclips-{i}", daemon=True)
        for i in range(n_workers)
    ]
    for t in threads:
        t.start()
    exited = 0
    try:
        while exited < n_workers:
            message = runner.done.get()
            if message[0] == "exit":
                exited += 1
            elif message[0] == "result":
                results[order[message[1]]] = message[2]
                if on_result is not None and fatal is None:
                    on_result(message[2])
            elif message[0] == "fatal":
                fatal = fatal or message[1]
                runner.cancel()
            else:
                no_connection = no_connection or message[1]
    except KeyboardInterrupt:
        runner.cancel()
        raise Interrupted("interrupted; the running checks were cancelled") from None
    failure = fatal or (no_connection if len(results) < len(clips) else None)
    if failure is not None:
        # DatabaseError/UsageError from the adapter; anything else is a bug (exit 70).
        raise failure
    ordered = [results[i] for i in range(len(clips))]
    verdict: RunVerdict = worst(r.verdict for r in ordered)
    return DataclipRun(
        target=label,
        started_at=started,
        duration_ms=round((time.perf_counter() - t0) * 1000, 2),
        verdict=verdict,
        ok=not is_failing(verdict),
        params=params,
        results=ordered,
    )
