"""``keycliq ledger``: list, show, verify and export the deploy ledger."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, load, out

if TYPE_CHECKING:
    from keycliq_ops.config import LoadedConfig
    from keycliq_ops.ledger import Ledger, Run
    from keycliq_ops.ledger.sync import LedgerRemote

app = typer.Typer(
    help="The deploy ledger: every deploy, promotion and rollback, hash-chained.\n\n"
    "The file is `paths.ledger` of keycliq.yaml (default .keycliq/ledger.jsonl); "
    "KEYCLIQ_LEDGER=FILE reads another one (no keycliq.yaml needed, never shared).\n\n"
    "The team shares one ledger through the branch `keycliq-ledger` of its git remote "
    "(keycliq.yaml `ledger.remote`, default `shared_remote`; `none`: local only): reads "
    "take in the team's records first, every append is pushed.\n\n"
    "Examples: keycliq ledger list -e production · keycliq ledger verify · "
    "keycliq ledger sync · keycliq ledger stats --since 90d · "
    "keycliq ledger export 20261128T0305 --format html -o report.html",
    no_args_is_help=True,
)

_COLORS = {
    "succeeded": "green",
    "failed": "red",
    "aborted": "yellow",
    "interrupted": "magenta",
    "running": "cyan",
}


def _ledger(ctx: typer.Context, *, share: bool = True) -> Ledger:
    """The ledger; shared through keycliq.yaml's remote unless ``share`` is off or
    ``KEYCLIQ_LEDGER`` names another file."""
    import os

    from keycliq_ops.ledger import Ledger

    override = os.environ.get("KEYCLIQ_LEDGER")
    if override:
        return Ledger(Path(override))
    loaded = load(ctx)
    return Ledger(loaded.ledger_path, remote=_remote(loaded) if share else None)


def _remote(loaded: LoadedConfig) -> LedgerRemote | None:
    from keycliq_ops.ledger.sync import team_remote

    return team_remote(loaded)


def _sync_note(ledger: Ledger) -> None:
    """Say so on stderr when the team's records could not be read or the local ones sent."""
    sync = ledger.last_sync
    if sync is not None and not sync.shared:
        err().print(f"[yellow]note[/]: {sync.note()}")


@app.command(
    "list",
    help="Show the latest actions, newest first: id, when, action, environment, commit, "
    "release, who, outcome, duration. A start with no completion whose process is gone "
    "shows as interrupted.\n\n"
    "Example: keycliq ledger list -e production --since 30d --outcome failed",
)
def list_(
    ctx: typer.Context,
    env: str | None = typer.Option(
        None,
        "--env",
        "-e",
        metavar="ENV",
        help="Only this environment: a name from keycliq.yaml or its Heroku app name (a "
        "name no longer in keycliq.yaml is matched as recorded). Example: -e staging",
    ),
    action: str | None = typer.Option(
        None,
        "--action",
        "-a",
        help="Only this action: deploy, promote, rollback, checklist, config-change, "
        "secret-rotation. Example: --action rollback",
    ),
    since: str | None = typer.Option(
        None,
        "--since",
        help="Only actions started since: 7d, 12h, 30m, 2w or an ISO date/time (UTC). "
        "Example: --since 2026-11-01",
    ),
    outcome: str | None = typer.Option(
        None,
        "--outcome",
        help="Only this outcome: succeeded, failed, aborted, running, interrupted. "
        "Example: --outcome failed",
    ),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many. Example: -n 50"),
    as_json: bool = JSON_OPTION,
) -> None:
    from keycliq_ops.ledger import Filters, parse_since
    from keycliq_ops.ledger.reports import fmt_duration

    ledger = _ledger(ctx)
    filters = Filters(
        environment=_env_filter(ctx, env),
        action=action,
        status=outcome,
        since=parse_since(since) if since else None,
    )
    runs = ledger.latest(limit, filters)
    _sync_note(ledger)
    if as_json:
        emit_json([r.summary().model_dump(mode="json") for r in runs])
        return
    if not runs:
        err().print(f"no records{' match' if filters != Filters() else ''} in {ledger.path}")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "when (UTC)", "action", "env", "commit", "release", "who"):
        table.add_column(column, no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    for run in runs:
        s = run.summary()
        table.add_row(
            s.id,
            s.ts.strftime("%Y-%m-%d %H:%M"),
            s.action,
            s.environment or "—",
            (s.commit or "—")[:8],
            f"v{s.release_version}" if s.release_version is not None else "—",
            s.actor,
            f"[{_COLORS.get(s.status, 'white')}]{s.status}[/]",
            fmt_duration(s.duration_ms),
        )
    _print_wide(table)


def _env_filter(ctx: typer.Context, env: str | None) -> str | None:
    """``-e`` resolved against keycliq.yaml when there is one (an app name → its
    environment); without one (``KEYCLIQ_LEDGER`` alone) the name is matched as given."""
    import os

    from keycliq_ops.cli.common import state
    from keycliq_ops.cli.envopt import filter_env
    from keycliq_ops.config import find_config

    if env is None:
        return None
    explicit = state(ctx).config_path
    if explicit is None and not os.environ.get("KEYCLIQ_CONFIG") and find_config() is None:
        return env
    return filter_env(load(ctx), env)


def _print_wide(renderable: Any) -> None:
    """Tables are cut to a terminal's width; piped output keeps every character."""
    console = out()
    if console.is_terminal:
        console.print(renderable)
        return
    import sys

    from rich.console import Console

    wide = Console(file=sys.stdout, width=max(console.width, 240), highlight=False)
    wide.print(renderable)


@app.command(
    "show",
    help="Print one action whole: every step with status and duration, checklist answers, "
    "Dataclip verdicts and numbers, release and build ids, record hashes. ID is a record id "
    "(start or completion) or a unique prefix of one.\n\n"
    "Example: keycliq ledger show 20261128T0305",
)
def show(
    ctx: typer.Context,
    record_id: str = typer.Argument(..., metavar="ID", help="Record id or unique prefix."),
    as_json: bool = JSON_OPTION,
) -> None:
    ledger = _ledger(ctx)
    run = ledger.run(record_id)
    _sync_note(ledger)
    if as_json:
        emit_json(
            {
                "run": run.summary().model_dump(mode="json"),
                "records": [
                    r.model_dump(mode="json", by_alias=True, exclude_none=True)
                    for r in (run.start, run.end)
                    if r is not None
                ],
            }
        )
        return
    _render_run(run)


def _render_run(run: Run) -> None:
    from rich.table import Table

    from keycliq_ops.ledger.reports import checklist_parts, dataclip_rows, step_rows, summary_rows

    console = out()
    color = _COLORS.get(run.status, "white")
    console.print(
        f"[bold]{run.start.action} {run.start.environment or ''}[/] {run.id} "
        f"[{color}]{run.status}[/]"
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in summary_rows(run):
        grid.add_row(label, value)
    console.print(grid)

    def section(title: str, header: list[str], rows: list[list[str]]) -> None:
        if not rows:
            return
        table = Table(title=title, title_justify="left", title_style="bold", header_style="bold")
        for column in header:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        _print_wide(table)

    section("Steps", ["step", "status", "started", "duration", "detail"], step_rows(run))
    facts, columns, items = checklist_parts(run.value("checklist"))
    section("Checklist", ["", ""], [[k, v] for k, v in facts])
    section("Checklist items", columns, items)
    section("Dataclips", ["dataclip", "verdict", "numbers"], dataclip_rows(run))
    details: dict[str, Any] = run.value("details")
    section("Details", ["key", "value"], [[k, str(v)] for k, v in sorted(details.items())])
    hashes = [[r.id, r.hash] for r in (run.start, run.end) if r is not None]
    section("Records", ["id", "hash"], hashes)


@app.command(
    "verify",
    help="Walk the hash chain and name the first bad line (edited, removed, reordered, "
    "truncated); with a shared ledger, also compare it with the remote branch: records "
    "once published and now missing here, records that differ, or a remote history "
    "rewritten are named by id. The local file is not changed. Exit 0 when intact, 1 "
    "when not.\n\n"
    "Example: keycliq ledger verify --anchor <hash from an exported report>",
)
def verify(
    ctx: typer.Context,
    anchor: str | None = typer.Option(
        None,
        "--anchor",
        help="Also require this record hash (noted earlier, e.g. from a report) to be in "
        "the chain: proves nothing was cut off after it. Example: --anchor 9f2c…",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    import os

    from keycliq_ops.ledger.sync import compare

    ledger = _ledger(ctx, share=False)  # verify reads; it never changes the local file
    report = ledger.verify(anchor=anchor)
    remote = None if os.environ.get("KEYCLIQ_LEDGER") else _remote(load(ctx))
    check = compare(ledger, remote) if remote is not None else None
    ok = report.ok and (check is None or check.ok)
    if as_json:
        data = report.model_dump(mode="json")
        data["ok"] = ok
        data["remote"] = check.model_dump(mode="json") if check is not None else None
        emit_json(data)
    else:
        _render_verify(report)
        if check is not None:
            _render_remote_check(check)
    if not ok:
        raise typer.Exit(1)


def _render_remote_check(check: Any) -> None:
    console = out()
    if not check.reachable:
        err().print(
            f"[yellow]note[/]: not compared with {check.remote}: {check.reason} "
            "(the local chain alone was verified)"
        )
        return
    if check.ok:
        extra = [f"{check.remote_records} records there"]
        if check.unpublished:
            extra.append(f"{len(check.unpublished)} here not shared yet")
        if check.not_taken_in:
            extra.append(f"{len(check.not_taken_in)} there not taken in yet")
        console.print(f"[green]ok[/]: matches {check.remote} ({', '.join(extra)})")
        return
    if check.missing_locally:
        console.print(
            f"[red]missing[/]: {len(check.missing_locally)} record(s) published on "
            f"{check.remote} are not in the local file: {', '.join(check.missing_locally)}"
        )
    if check.differs:
        console.print(
            f"[red]differs[/]: the local and published records differ: {', '.join(check.differs)}"
        )
    if check.rewritten:
        console.print(
            f"[red]rewritten[/]: {check.remote}'s history was rewritten (a forced push?): "
            f"records once published there are gone or changed: {', '.join(check.rewritten)}"
        )


def _render_verify(report: Any) -> None:
    console = out()
    if not report.exists:
        console.print(f"no ledger at {report.path} yet (nothing recorded)")
    elif report.ok:
        console.print(f"[green]ok[/]: {report.path}: {report.records} records, chain intact")
        console.print(f"head {report.head}")
    elif report.problem is not None:
        p = report.problem
        console.print(f"[red]broken[/]: {report.path}:{p.line}: {p.kind}: {p.message}")
        console.print(f"{report.records} records before it check out")
    if report.anchor is not None:
        found = "[green]in the chain[/]" if report.anchor_found else "[red]NOT in the chain[/]"
        console.print(f"anchor {report.anchor}: {found}")
    for q in report.quarantined:
        err().print(
            f"note: {q.length} bytes of a half-written line (at byte {q.offset}) were moved "
            f"to {report.path}.partial on {q.at}"
        )


@app.command(
    "export",
    help="Write a deploy report of one action for an auditor (md, html: a self-contained "
    "page, json), or the whole chain as JSON with --all.\n\n"
    "Example: keycliq ledger export 20261128T0305 --format html --output deploy.html",
)
def export(
    ctx: typer.Context,
    record_id: str | None = typer.Argument(
        None, metavar="[ID]", help="Record id or unique prefix (omit with --all)."
    ),
    fmt: str = typer.Option(
        "md", "--format", "-f", help="md, html or json. Example: --format html"
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write here instead of stdout. Example: -o report.md"
    ),
    all_: bool = typer.Option(
        False, "--all", help="Export every record (JSON only). Example: --all --format json"
    ),
) -> None:
    from keycliq_ops.base.errors import UsageError

    if fmt not in ("md", "html", "json"):
        raise UsageError(f"--format {fmt!r} is not one of md, html, json")
    if all_ == (record_id is not None):
        raise UsageError("give a record ID or --all (not both)")
    if all_ and fmt != "json":
        raise UsageError("--all exports JSON only", hint="add --format json")
    ledger = _ledger(ctx)
    if all_:
        _export_all(ledger, output)
        return
    from keycliq_ops.ledger import reports

    assert record_id is not None
    run = ledger.run(record_id)
    check = ledger.verify()
    if fmt == "md":
        text = reports.render_markdown(run, check)
    elif fmt == "html":
        from datetime import timedelta

        from keycliq_ops.ledger.stats import weekly

        since = run.start.ts - timedelta(weeks=26)  # the half year up to this run, and after
        recent = [r for r in ledger.latest(2**62) if r.start.ts >= since]
        text = reports.render_html(run, check, weekly=weekly(recent))
    else:
        import json

        text = json.dumps(reports.report_data(run, check), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    from keycliq_ops.base.fsutil import atomic_write

    atomic_write(output, text)
    err().print(f"wrote {output}")


def _export_all(ledger: Ledger, output: Path | None) -> None:
    import os
    import sys
    import tempfile

    from keycliq_ops.ledger.reports import write_chain_json

    check = ledger.verify()
    if output is None:
        write_chain_json(ledger.lines(), check, sys.stdout)
        sys.stdout.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            count = write_chain_json(ledger.lines(), check, fh)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    err().print(f"wrote {count} records to {output}")


@app.command(
    "sync",
    help="Share the ledger with the team now: fetch the ledger branch of the git remote, "
    "take in the records this copy lacks, re-chain this copy's unpublished records on top "
    "(ids and content kept) and push, fast-forward only. Uses your own git setup "
    "(credentials, ssh keys); keycliq handles none. Exit 0 when shared, 1 when the copies "
    "diverged (both heads named, nothing overwritten), 2 when the ledger is local only, "
    "3 when the remote cannot be reached (the records stay here, nothing is lost).\n\n"
    "Example: keycliq ledger sync --json",
)
def sync_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    from keycliq_ops.base.errors import EXIT_EXTERNAL, UsageError

    ledger = _ledger(ctx)
    result = ledger.sync()
    if result is None:
        raise UsageError(
            f"the ledger {ledger.path} is local only: nothing to sync",
            hint="set ledger.remote in keycliq.yaml (default: shared_remote); "
            "KEYCLIQ_LEDGER and `ledger.remote: none` keep it local",
        )
    if as_json:
        emit_json({**result.model_dump(mode="json"), "note": result.note()})
    elif result.shared:
        out().print(f"[green]ok[/]: {result.note()}")
    else:
        err().print(f"[yellow]warning[/]: {result.note()}")
    if not result.shared:
        raise typer.Exit(EXIT_EXTERNAL)


@app.command(
    "stats",
    help="Delivery figures from the ledger (the team's, when shared): deployment frequency "
    "(production promotions per week), lead time for changes (commit time to production), "
    "change failure rate (promotions whose production checks failed or that were rolled "
    "back), time to restore (failure to the next good production release), and releases "
    "per week by outcome. Definitions: docs/ledger.md.\n\n"
    "Example: keycliq ledger stats --since 90d --json",
)
def stats(
    ctx: typer.Context,
    since: str = typer.Option(
        "90d",
        "--since",
        help="The window: 7d, 12w, 90d or an ISO date/time (UTC). Example: --since 2026-09-01",
    ),
    until: str | None = typer.Option(
        None,
        "--until",
        help="End of the window (default: now), an ISO date/time (UTC). Example: "
        "--until 2026-12-01",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    from datetime import UTC, datetime

    from keycliq_ops.base.errors import UsageError
    from keycliq_ops.ledger import parse_since
    from keycliq_ops.ledger.reports import fmt_duration
    from keycliq_ops.ledger.stats import compute

    start = parse_since(since)
    end = parse_since(until) if until else datetime.now(UTC)
    if end <= start:
        raise UsageError(f"--until {until} is not after --since {since}")
    ledger = _ledger(ctx)
    runs = ledger.latest(2**62)
    _sync_note(ledger)
    production, commit_time = _production_and_clock(ctx)
    figures = compute(
        runs,
        since=start,
        until=end,
        production=production,
        commit_time=commit_time,
    )
    if as_json:
        emit_json(figures)
        return

    def secs(value: float | None) -> str:
        return fmt_duration(int(value * 1000)) if value is not None else "—"

    console = out()
    console.print(
        f"[bold]{figures.since:%Y-%m-%d} → {figures.until:%Y-%m-%d}[/] "
        f"({figures.weeks:g} weeks, {', '.join(figures.environments)})"
    )
    rate = figures.change_failure_rate
    console.print(
        f"deployment frequency: {figures.deployment_frequency_per_week:g} per week "
        f"({figures.deployments} production deployments)"
    )
    console.print(
        f"lead time for changes: median {secs(figures.lead_time.median_seconds)}, "
        f"mean {secs(figures.lead_time.mean_seconds)} ({figures.lead_time.count} measured)"
    )
    console.print(
        "change failure rate: "
        + (f"{rate:.0%}" if rate is not None else "—")
        + f" ({figures.failed_deployments} of {figures.deployments})"
    )
    ttr = figures.time_to_restore
    open_ = figures.unrestored
    pending = f", {len(open_)} not yet: {', '.join(open_)}" if open_ else ""
    console.print(
        f"time to restore: median {secs(ttr.median_seconds)}, mean {secs(ttr.mean_seconds)} "
        f"({ttr.count} restored{pending})"
    )
    for week in figures.weekly:
        console.print(
            f"  {week.week}  {'█' * week.succeeded}[red]{'█' * week.failed}[/]"
            f"[yellow]{'█' * week.aborted}[/]{'░' * week.other}  {week.total}"
        )


def _production_and_clock(ctx: typer.Context) -> tuple[list[str], Any]:
    """The production environments (keycliq.yaml's stage, else `production`) and the
    commit clock (the checkout's git, when there is one)."""
    import os
    from functools import cache

    from keycliq_ops.adapters.git import commit_time, repo_root
    from keycliq_ops.base.errors import KeycliqError

    production = ["production"]
    root: Path | None = None
    try:
        if not os.environ.get("KEYCLIQ_LEDGER"):
            loaded = load(ctx)
            production = [n for n, _ in loaded.config.env_by_stage("production")] or production
            root = repo_root(loaded.root)
    except KeycliqError:
        pass
    if root is None:
        return production, None
    where = root

    @cache
    def clock(commit: str) -> Any:
        return commit_time(where, commit)

    return production, clock
