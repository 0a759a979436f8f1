"""``keycliq ledger``: list, show, verify and export the deploy ledger."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, load, out

if TYPE_CHECKING:
    from keycliq_ops.ledger import Ledger, Run

app = typer.Typer(
    help="The deploy ledger: every deploy, promotion and rollback, hash-chained.\n\n"
    "The file is `paths.ledger` of keycliq.yaml (default .keycliq/ledger.jsonl); "
    "KEYCLIQ_LEDGER=FILE reads another one (no keycliq.yaml needed).\n\n"
    "Examples: keycliq ledger list -e production · keycliq ledger verify · "
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


def _ledger(ctx: typer.Context) -> Ledger:
    import os

    from keycliq_ops.ledger import Ledger

    override = os.environ.get("KEYCLIQ_LEDGER")
    return Ledger(Path(override) if override else load(ctx).ledger_path)


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
    run = _ledger(ctx).run(record_id)
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
    "truncated). Exit 0 when intact, 1 when not.\n\n"
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
    report = _ledger(ctx).verify(anchor=anchor)
    if as_json:
        emit_json(report)
    else:
        _render_verify(report)
    if not report.ok:
        raise typer.Exit(1)


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
        text = reports.render_html(run, check)
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
