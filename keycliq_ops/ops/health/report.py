"""Building the health report of one environment (see the package docstring).

The report's time (``now``) is the real time unless the caller gives one: the CLI's hidden
``--now`` does, for tests and demos that simulate days. Every window (the last 24 hours of
C-ALL, the days of C-DAYS and COSTS, the ages of KEYS-UNSIGNED) ends at it and the run is
recorded in the history at it; the release markers come from the ledger's own times.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keycliq_ops.ops.health.costs import naive_utc, openai_estimate
from keycliq_ops.ops.health.model import (
    BalanceDay,
    Breach,
    CheckTrend,
    CostReport,
    HealthReport,
    Marker,
    Series,
    UnsignedKeys,
)

if TYPE_CHECKING:
    from keycliq_ops.adapters.cloudinary import Transport
    from keycliq_ops.config import LoadedConfig
    from keycliq_ops.config.health_settings import ReportThresholds
    from keycliq_ops.dataclips import CheckResult, DataclipRun

HISTORY_SOURCE = "report"
RELEASE_ACTIONS = ("deploy", "promote", "rollback")
AGE_BUCKETS = ("under 1 h", "1 h – 1 day", "1–7 days", "over 7 days")
_PENDING = ("pending_under_1h", "pending_1h_1d", "pending_1d_7d", "pending_over_7d")
_FAILED = ("failed_under_1h", "failed_1h_1d", "failed_1d_7d", "failed_over_7d")


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


# ----------------------------------------------------------------------------- history


def _append(path: Path, run: DataclipRun) -> None:
    from keycliq_ops.dataclips import history

    entry = history.record(run)
    entry["source"] = HISTORY_SOURCE
    append_line = getattr(history, "append_line", None)
    if append_line is not None:
        append_line(path, entry)
    else:  # an older history module: the line without its source
        history.append_run(path, run)


def _report_entries(path: Path, target: str, ids: list[str], last: int) -> list[dict[str, Any]]:
    from keycliq_ops.dataclips.history import read_history

    wanted = {i.lower() for i in ids}
    got = []
    for entry in read_history(path):
        if entry.get("target") != target:
            continue
        if entry.get("source") not in (HISTORY_SOURCE, None):
            continue  # a gate's or a `dataclips run`'s numbers: other moments, other windows
        if not wanted & {k.lower() for k in entry["checks"]}:
            continue
        try:
            entry["_at"] = _aware(datetime.fromisoformat(str(entry["at"])))
        except ValueError:
            continue
        got.append(entry)
    got.sort(key=lambda e: e["_at"])
    return got[-last:]


def _trend(entries: list[dict[str, Any]], result: CheckResult) -> CheckTrend:
    at: list[datetime] = []
    verdicts: list[str] = []
    rows: list[dict[str, float | int]] = []
    for entry in entries:
        data = next((v for k, v in entry["checks"].items() if k.lower() == result.id.lower()), None)
        if not isinstance(data, dict):
            continue
        at.append(entry["_at"])
        verdicts.append(str(data.get("verdict", "")))
        numbers = data.get("numbers") or {}
        rows.append(
            {
                k: v
                for k, v in numbers.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
        )
    names: list[str] = []
    for numbers in rows:
        names.extend(k for k in numbers if k not in names)
    series = []
    for name in names:
        values = [numbers.get(name) for numbers in rows]
        series.append(Series(name=name, values=values, last=values[-1] if values else None))
    return CheckTrend(
        id=result.id,
        title=result.title,
        verdict=result.verdict,
        error=result.error,
        at=at,
        verdicts=verdicts,
        series=series,
    )


# ----------------------------------------------------------------------------- ledger


def release_markers(
    ledger_path: Path, env_name: str, notes: list[str], loaded: LoadedConfig | None = None
) -> list[Marker]:
    """The succeeded deploys, promotions and rollbacks of ``env_name``, oldest first: from
    the team's ledger when ``loaded`` shares one (synced first, docs/ledger.md)."""
    from keycliq_ops.ledger import Filters, Ledger, LedgerError

    remote = None
    if loaded is not None:
        from keycliq_ops.ledger.sync import team_remote

        remote = team_remote(loaded)
    if not ledger_path.exists() and remote is None:
        return []
    try:
        runs = Ledger(ledger_path, remote=remote).latest(500, Filters(environment=env_name))
    except LedgerError as exc:
        notes.append(f"no release markers: the ledger could not be read ({exc.message})")
        return []
    out: list[Marker] = []
    for run in runs:
        if run.start.action not in RELEASE_ACTIONS or run.end is None:
            continue
        if run.status != "succeeded":
            continue
        version = run.end.release_version
        label = f"{run.start.action} v{version}" if version else run.start.action
        out.append(
            Marker(
                at=_aware(run.end.ts),
                action=run.start.action,
                label=label,
                release_version=version,
                commit=run.end.commit,
                outcome=run.status,
                ledger_id=run.start.id,
            )
        )
    out.sort(key=lambda m: m.at)
    return out


# ----------------------------------------------------------------------------- thresholds


def _pct(v: float) -> str:
    return f"{v:.0f} %" if abs(v - round(v)) < 0.05 else f"{v:.1f} %"


def breaches(
    run: DataclipRun,
    thresholds: ReportThresholds,
    *,
    share: Series | None,
    times: list[datetime],
    markers: list[Marker],
    costs: CostReport | None,
) -> list[Breach]:
    """Every threshold breached, in words (the share first, then keys, spend, checks)."""
    out: list[Breach] = []
    numbers = {r.id.upper(): r.numbers for r in run.results}
    balance = numbers.get("C-ALL")
    limit = thresholds.no_match_percent
    if balance and limit is not None and "no_match_percent" in balance:
        value = float(balance["no_match_percent"])
        total = int(balance.get("matchings", 0))
        if total >= thresholds.min_matchings and value > limit:
            message = (
                f"NO_MATCH share {_pct(value)} of the {total} matchings of the last 24 h is "
                f"above the {_pct(limit)} threshold"
            )
            message += _since_release(share, times, markers)
            out.append(
                Breach(
                    kind="no_match_share",
                    message=message,
                    value=value,
                    limit=limit,
                    setting="report.thresholds.no_match_percent",
                )
            )
    keys = numbers.get("KEYS-UNSIGNED")
    if keys and thresholds.stuck_keys is not None and "stuck" in keys:
        stuck = int(keys["stuck"])
        if stuck > thresholds.stuck_keys:
            out.append(
                Breach(
                    kind="stuck_keys",
                    message=f"{stuck} keys with a photo are stuck in pending (more than "
                    f"{thresholds.stuck_keys} allowed); the scan pipeline did not sign them",
                    value=stuck,
                    limit=thresholds.stuck_keys,
                    setting="report.thresholds.stuck_keys",
                )
            )
    budget = thresholds.openai_usd_per_day
    if costs is not None and budget is not None:
        spent = costs.openai.usd_last_24h
        if spent > budget:
            out.append(
                Breach(
                    kind="openai_budget",
                    message=f"estimated OpenAI spend of the last 24 h, ${spent:,.2f}, is above "
                    f"the budget of ${budget:,.2f} a day",
                    value=spent,
                    limit=budget,
                    setting="report.thresholds.openai_usd_per_day",
                )
            )
    if thresholds.failing_checks:
        for r in run.results:
            if r.verdict not in ("fail", "error"):
                continue
            why = r.error or next(
                (e.actual or e.text for e in r.expectations if e.status in ("fail", "error")),
                "",
            )
            verb = "failed" if r.verdict == "fail" else "errored"
            out.append(
                Breach(
                    kind="failing_check",
                    message=f"Dataclip {r.id} ({r.title}) {verb}" + (f": {why}" if why else ""),
                    setting="report.thresholds.failing_checks",
                )
            )
    return out


def _since_release(share: Series | None, times: list[datetime], markers: list[Marker]) -> str:
    """``; it was 12 % before deploy v5 (2026-12-01 14:20 UTC)`` when a release came
    between an earlier run and this one."""
    if share is None or len(times) < 2 or not markers:
        return ""
    last_at = times[-1]
    before = [m for m in markers if m.at <= last_at and m.at >= times[0]]
    if not before:
        return ""
    marker = before[-1]
    prior = [
        v for at, v in zip(times, share.values, strict=False) if at < marker.at and v is not None
    ]
    if not prior:
        return ""
    return (
        f"; it was {_pct(float(prior[-1]))} before {marker.label} ({marker.at:%Y-%m-%d %H:%M} UTC)"
    )


# ----------------------------------------------------------------------------- building


def _rows(result: CheckResult) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, row, strict=False)) for row in result.rows]


def _balance(result: CheckResult | None) -> list[BalanceDay]:
    if result is None or result.verdict == "error":
        return []
    out = []
    for row in sorted(_rows(result), key=lambda r: -int(r["day"])):
        start = row["day_start"]
        at = start if isinstance(start, datetime) else datetime.fromisoformat(str(start))
        out.append(
            BalanceDay(
                start=_aware(at),
                **{
                    k: int(row.get(k) or 0)
                    for k in (
                        "matchings",
                        "match_found",
                        "possible_keys",
                        "possible_match",
                        "no_match",
                        "other_types",
                    )
                },
            )
        )
    return out


def _unsigned(result: CheckResult | None) -> UnsignedKeys | None:
    if result is None or not result.numbers or "unsigned" not in result.numbers:
        return None
    n = result.numbers
    return UnsignedKeys(
        buckets=list(AGE_BUCKETS),
        pending=[int(n.get(k, 0)) for k in _PENDING],
        failed=[int(n.get(k, 0)) for k in _FAILED],
        no_photo=int(n.get("no_photo", 0)),
        unsigned=int(n.get("unsigned", 0)),
        stuck=int(n.get("stuck", 0)),
    )


def build_report(
    loaded: LoadedConfig,
    env_name: str,
    config_vars: Mapping[str, str],
    *,
    now: datetime | None = None,
    database_url: str | None = None,
    record: bool = True,
    runs: int | None = None,
    transport: Transport | None = None,
) -> HealthReport:
    """Run the report set on ``env_name``'s database, record it, and gather the report."""
    from datetime import timedelta

    from keycliq_ops.adapters import db
    from keycliq_ops.dataclips import run_dataclips
    from keycliq_ops.dataclips.history import expected_durations
    from keycliq_ops.ops.health.catalog import report_catalog
    from keycliq_ops.ops.health.costs import cloudinary_figures

    now = _aware(now or datetime.now(UTC))
    env = loaded.env(env_name)
    settings = loaded.config.report
    catalog = report_catalog(loaded)
    ids = [catalog.get(i).id for i in settings.checks_for(env_name)]
    url = db.database_url_of(config_vars, env.app, database_url)
    until = naive_utc(now).isoformat()
    history = loaded.history_path
    run = run_dataclips(
        catalog,
        ids,
        url,
        params={**settings.params, "until": until},
        settings=loaded.config.dataclips,
        target=env.app,
        expected_ms=expected_durations(history, env.app),
    )
    run = run.model_copy(update={"started_at": now})
    detail = run_dataclips(
        catalog,
        ["C-DAYS", "COSTS"],
        url,
        params={"until": until, "days": str(settings.days)},
        settings=loaded.config.dataclips,
        max_rows=400,
        target=env.app,
    )
    if record:
        _append(history, run)
    notes: list[str] = []
    entries = _report_entries(history, env.app, ids, runs or settings.runs)
    if not record or not entries or entries[-1]["_at"] != now:
        entries.append(
            {
                "_at": now,
                "checks": {r.id: {"verdict": r.verdict, "numbers": r.numbers} for r in run.results},
            }
        )
        entries = entries[-(runs or settings.runs) :]
    trends = [_trend(entries, r) for r in run.results]
    times = [e["_at"] for e in entries]
    markers = release_markers(loaded.ledger_path, env_name, notes, loaded)
    share = None
    c_all = next((t for t in trends if t.id.upper() == "C-ALL"), None)
    if c_all is not None:
        found = next((s for s in c_all.series if s.name == "no_match_percent"), None)
        if found is not None:
            aligned = dict(zip(c_all.at, found.values, strict=False))
            values = [aligned.get(at) for at in times]
            share = Series(name="no_match_percent", values=values, last=values[-1])
    costs_result = detail.results[1]
    costs: CostReport | None = None
    if costs_result.verdict != "error":
        figures = cloudinary_figures(
            config_vars, loaded.config.costs.cloudinary, transport=transport
        )
        if not figures.available:
            notes.append(f"Cloudinary usage left out: {figures.error}")
        costs = CostReport(
            environment=env_name,
            app=env.app,
            generated_at=now,
            openai=openai_estimate(
                costs_result,
                loaded.config.costs.openai,
                since=now - timedelta(days=settings.days),
                until=now,
            ),
            cloudinary=figures,
        )
    else:
        notes.append(f"costs left out: COSTS errored ({costs_result.error})")
    found_breaches = breaches(
        run,
        settings.thresholds,
        share=share,
        times=times,
        markers=markers,
        costs=costs,
    )
    by_id = {r.id.upper(): r for r in run.results}
    return HealthReport(
        environment=env_name,
        app=env.app,
        target=env.app,
        generated_at=now,
        ok=not found_breaches,
        breaches=found_breaches,
        notes=notes,
        checks=trends,
        markers=markers,
        balance=_balance(detail.results[0]),
        no_match_percent=share,
        run_times=times,
        no_match_threshold=settings.thresholds.no_match_percent,
        unsigned_keys=_unsigned(by_id.get("KEYS-UNSIGNED")),
        costs=costs,
    )


def default_output(loaded: LoadedConfig, env_name: str) -> Path:
    """Where the page goes: ``report.output``, else ``health-<env>.html`` in the reports."""
    configured = loaded.config.report.output
    if configured is not None:
        return configured if configured.is_absolute() else loaded.root / configured
    return loaded.reports_dir / f"health-{env_name}.html"
