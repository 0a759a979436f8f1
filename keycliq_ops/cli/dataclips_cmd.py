"""``keycliq dataclips``: list, show, run and trend the read-only SQL checks.

Without a keycliq.yaml, ``list``/``show``/``run --database-url`` use the shipped catalogue and
keep history beside the ledger (``$KEYCLIQ_LEDGER``'s folder, else
``$XDG_STATE_HOME/keycliq/dataclips-history.jsonl``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, out, state

if TYPE_CHECKING:
    from keycliq_ops.config import LoadedConfig
    from keycliq_ops.dataclips import Catalog, CheckResult, DataclipRun
    from keycliq_ops.dataclips.history import Trend

app = typer.Typer(
    help="Read-only SQL checks (Dataclips) against an app's database: list, show, run, trend.\n\n"
    "Exit codes of run: 0 all passed (warnings allowed), 1 a check failed or errored, "
    "2 usage (unknown id, missing --param), 3 database unreachable.\n\n"
    "Example: keycliq dataclips run E1 E2 E3 -e staging",
    no_args_is_help=True,
)

_VERDICT_STYLE = {
    "pass": "green",
    "info": "cyan",
    "warn": "yellow",
    "fail": "bold red",
    "error": "bold magenta",
}
_MARK = {"pass": "✓", "warn": "!", "fail": "✗", "error": "?"}
SHOWN_ROWS = 20
_ISO_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"


def _maybe_load(ctx: typer.Context) -> LoadedConfig | None:
    import os

    from keycliq_ops.config import find_config, load_config

    explicit = state(ctx).config_path
    if explicit is None and not os.environ.get("KEYCLIQ_CONFIG") and find_config() is None:
        return None
    return load_config(explicit)


def _catalog(loaded: LoadedConfig | None) -> Catalog:
    """The layered catalogue: the shipped checks, then the repository's ``dataclips/``."""
    from keycliq_ops.config.loading import shipped_dataclips
    from keycliq_ops.dataclips import load_catalog

    if loaded is not None:
        return loaded.dataclip_catalog()
    return load_catalog(shipped_dataclips())


def _history_path(loaded: LoadedConfig | None) -> Path:
    from keycliq_ops.dataclips.history import default_history_path

    return loaded.history_path if loaded is not None else default_history_path()


def _pick_app(loaded: LoadedConfig | None, *given: str | None) -> str | None:
    """``-e/--env`` (or its deprecated alias ``--app/-a``) names an environment of
    keycliq.yaml (``staging``) or a Heroku app name; the app it names (envopt.pick_app)."""
    from keycliq_ops.cli.envopt import pick_app

    return pick_app(loaded, *given)


def _database(app_name: str | None, url: str | None) -> tuple[str, str]:
    """The database URL to use (the app's DATABASE_URL, or ``url``) and the label it is
    recorded under (never the URL)."""
    from keycliq_ops.adapters import db
    from keycliq_ops.base.errors import UsageError

    if app_name and url:
        raise UsageError("give either -e/--env or --database-url, not both")
    if url:
        return url, db.describe(url)
    if not app_name:
        raise UsageError(
            "which database? pass -e ENV or --database-url URL",
            hint="or set KEYCLIQ_DATABASE_URL",
        )
    from keycliq_ops.cli.common import heroku_client

    with heroku_client() as client:
        found = db.database_url_of(lambda: client.config_vars(app_name), app_name)
    return found, app_name


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _fmt(v: Any) -> str:
    import json
    import re

    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4f}".rstrip("0").rstrip(".") if not v.is_integer() else f"{int(v):,}"
    if isinstance(v, str) and re.match(_ISO_TIME, v):
        return v[:19].replace("T", " ")
    if isinstance(v, dict | list):
        text = json.dumps(v, separators=(",", ":"))
        return text if len(text) <= 40 else text[:39] + "…"
    return str(v)


def _verdict(v: str) -> str:
    return f"[{_VERDICT_STYLE.get(v, 'white')}]{v}[/]"


@app.command(
    "list",
    help="List the catalogue: the shipped checks, then the repository's own (dataclips/ "
    "beside keycliq.yaml, or paths.dataclips), which add ids or replace shipped ones; the "
    "source column says which.\n\n"
    "Example: keycliq dataclips list --tag integrity",
)
def list_(
    ctx: typer.Context,
    tag: str | None = typer.Option(
        None, "--tag", help="Only checks with this tag, e.g. --tag after-promote."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    from rich.table import Table

    catalog = _catalog(_maybe_load(ctx))
    clips = catalog.with_tag(tag) if tag else catalog.all()
    if as_json:
        emit_json(
            [
                {
                    "id": c.id,
                    "title": c.title,
                    "severity": c.severity,
                    "tags": list(c.tags),
                    "returns": c.returns,
                    "params": [
                        {
                            "name": p.name,
                            "type": p.type,
                            "required": p.required,
                            "default": p.default,
                        }
                        for p in c.params
                    ],
                    "expectations": [f"{e.level}: {e.text}" for e in c.expectations],
                    "path": str(c.path),
                    "source": c.layer,
                    "overrides_shipped": c.overrides is not None,
                    "overrides": str(c.overrides) if c.overrides is not None else None,
                }
                for c in clips
            ]
        )
        return
    table = Table(title=f"Dataclips: {catalog.description}", title_justify="left")
    for name in ("id", "title", "severity", "params", "expectations", "tags", "source"):
        table.add_column(
            name, justify="right" if name == "expectations" else "left", no_wrap=name == "source"
        )
    for c in clips:
        params = ", ".join(p.name + ("" if p.required else "?") for p in c.params)
        table.add_row(
            c.id,
            c.title,
            c.severity,
            params or "-",
            str(len(c.expectations)) or "-",
            ", ".join(c.tags),
            c.origin,
        )
    out().print(table)


@app.command(
    "show",
    help="Print one check: its file (header and SQL), which runs unchanged in psql or a "
    "Heroku Dataclip.\n\nExample: keycliq dataclips show E2",
)
def show(
    ctx: typer.Context,
    check_id: str = typer.Argument(..., metavar="ID", help="The check's id, e.g. E2."),
    as_json: bool = JSON_OPTION,
) -> None:
    clip = _catalog(_maybe_load(ctx)).get(check_id)
    if as_json:
        emit_json(
            {
                "id": clip.id,
                "title": clip.title,
                "description": clip.description,
                "severity": clip.severity,
                "tags": list(clip.tags),
                "returns": clip.returns,
                "params": [
                    {
                        "name": p.name,
                        "type": p.type,
                        "required": p.required,
                        "default": p.default,
                        "description": p.description,
                    }
                    for p in clip.params
                ],
                "expectations": [{"level": e.level, "text": e.text} for e in clip.expectations],
                "path": str(clip.path),
                "source": clip.layer,
                "overrides_shipped": clip.overrides is not None,
                "sql": clip.sql,
            }
        )
        return
    from keycliq_ops.cli.common import write_file_text

    write_file_text(clip.source)


def _render_result(r: CheckResult) -> None:
    from rich.table import Table

    console = out()
    style = _VERDICT_STYLE.get(r.verdict, "white")
    console.print(
        f"[bold]{r.id}[/]  {r.title}  [{style}]{r.verdict}[/]  [dim]{r.duration_ms:.0f} ms[/]"
    )
    if r.error:
        console.print(f"  [{style}]error:[/] {r.error}", markup=True)
    if r.columns and r.rows:
        rows = r.rows[:SHOWN_ROWS]
        if r.returns == "one-row" and len(rows) == 1:
            table = Table(show_header=True, box=None, padding=(0, 2))
            table.add_column("column")
            table.add_column("value", justify="right")
            for name, value in zip(r.columns, rows[0], strict=False):
                table.add_row(name, _fmt(value))
        else:
            table = Table(show_header=True)
            for i, name in enumerate(r.columns):
                numeric = any(_is_number(row[i]) for row in rows) and all(
                    row[i] is None or _is_number(row[i]) for row in rows
                )
                table.add_column(
                    name,
                    justify="right" if numeric else "left",
                    no_wrap=True,
                    overflow="ellipsis",
                    min_width=min(max(len(name), 6), 12) if numeric else None,
                )
            for row in rows:
                table.add_row(*[_fmt(v) for v in row])
        console.print(table)
        if r.truncated or r.row_count > len(rows):
            label = "failing rows" if r.expectations else "rows"
            console.print(f"  [dim]showing {len(rows)} {label} of {r.row_count}[/]")
    elif r.columns and r.row_count == 0 and not r.expectations:
        console.print("  [dim](no rows)[/]")
    for e in r.expectations:
        mark = _MARK.get(e.status, "?")
        estyle = _VERDICT_STYLE.get(e.status, "white")
        extra = e.detail if e.status == "error" else e.actual
        prefix = "warn: " if e.level == "warn" else ""
        console.print(
            f"  [{estyle}]{mark}[/] {prefix}{e.text}" + (f"  [dim]({extra})[/]" if extra else ""),
        )
    console.print()


def _render_run(run: DataclipRun) -> None:
    from rich.table import Table

    for r in run.results:
        _render_result(r)
    table = Table(title=f"Dataclips on {run.target}", title_justify="left")
    table.add_column("id")
    table.add_column("title")
    table.add_column("verdict")
    table.add_column("rows", justify="right")
    table.add_column("ms", justify="right")
    for r in run.results:
        table.add_row(
            r.id, r.title, _verdict(r.verdict), f"{r.row_count:,}", f"{r.duration_ms:,.0f}"
        )
    out().print(table)
    counts = ", ".join(f"{n} {v}" for v, n in sorted(run.counts().items()))
    seconds = run.duration_ms / 1000
    out().print(f"{len(run.results)} checks: {counts} — {_verdict(run.verdict)} in {seconds:.2f} s")


@app.command(
    "run",
    help="Run checks read-only against a database and print a table per check. "
    "The URL is fetched from the app's config vars (never printed, never stored) or given "
    "with --database-url.\n\n"
    "Example: keycliq dataclips run A C -e production --param userId=ckx1…",
)
def run(
    ctx: typer.Context,
    ids: list[str] = typer.Argument(
        None, metavar="ID", help="Check ids to run, e.g. E1 E2 E3 (or use --all / --tag)."
    ),
    all_: bool = typer.Option(
        False,
        "--all",
        help="Run every check in the catalogue. Example: keycliq dataclips run --all "
        "-e staging --param userId=ckx1abc",
    ),
    tag: str | None = typer.Option(
        None, "--tag", help="Run the checks with this tag, e.g. --tag integrity."
    ),
    env_opt: str | None = typer.Option(
        None,
        "--env",
        "-e",
        metavar="ENV",
        help="Environment in keycliq.yaml (e.g. staging) or Heroku app name whose "
        "DATABASE_URL to use. Example: -e staging",
        show_default=False,
    ),
    app_: str | None = typer.Option(
        None,
        "--app",
        "-a",
        hidden=True,
        help="Deprecated alias of -e/--env (kept working). Example: --app staging",
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="KEYCLIQ_DATABASE_URL",
        show_envvar=True,
        show_default=False,
        help="Any PostgreSQL URL instead of an app's. Example: --database-url "
        "postgres://localhost/keycliq",
    ),
    param: list[str] = typer.Option(
        [],
        "--param",
        "-p",
        help="A parameter NAME=VALUE for the checks that take it (repeatable). "
        "Example: --param userId=ckx1abc",
    ),
    as_json: bool = JSON_OPTION,
    csv_dir: Path | None = typer.Option(
        None,
        "--csv",
        metavar="DIR",
        help="Also write one CSV per check into DIR. Example: --csv out/",
    ),
    fail_on_warn: bool = typer.Option(
        False,
        "--fail-on-warn",
        help="Exit 1 when a check warns (default: warnings pass). "
        "Example: keycliq dataclips run H I -e staging --fail-on-warn",
    ),
    no_history: bool = typer.Option(
        False,
        "--no-history",
        help="Do not append this run's numbers to the history file. "
        "Example: keycliq dataclips run A --database-url $URL --no-history",
    ),
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        min=1,
        max=32,
        help="Checks at once, each on its own connection (default: dataclips.concurrency, 4). "
        "Example: --concurrency 2",
    ),
    statement_timeout_ms: int | None = typer.Option(
        None,
        "--statement-timeout-ms",
        min=1,
        help="Per-check statement_timeout in ms (default: dataclips.statement_timeout_ms, "
        "30000). Example: --statement-timeout-ms 5000",
    ),
) -> None:
    from keycliq_ops.base.errors import GateFailed, UsageError
    from keycliq_ops.config.settings import DataclipSettings
    from keycliq_ops.dataclips import run_dataclips
    from keycliq_ops.dataclips.history import append_run, expected_durations

    loaded = _maybe_load(ctx)
    catalog = _catalog(loaded)
    selected = list(ids or [])
    if all_:
        selected += catalog.ids()
    if tag:
        tagged = [c.id for c in catalog.with_tag(tag)]
        if not tagged:
            raise UsageError(f"no Dataclip has the tag {tag!r}")
        selected += tagged
    if not selected:
        raise UsageError("which checks? give ids (e.g. E1 E2), --all or --tag TAG")
    from keycliq_ops.cli.common import parse_params

    params = parse_params(param)
    settings = loaded.config.dataclips if loaded is not None else DataclipSettings()
    overrides: dict[str, Any] = {}
    if concurrency is not None:
        overrides["concurrency"] = concurrency
    if statement_timeout_ms is not None:
        overrides["statement_timeout_ms"] = statement_timeout_ms
    if overrides:
        settings = settings.model_copy(update=overrides)
    # Check ids and parameters before reaching for a database.
    from keycliq_ops.dataclips.executor import bind_values

    for check_id in dict.fromkeys(selected):
        bind_values(catalog.get(check_id), params)
    url, target = _database(_pick_app(loaded, env_opt, app_), database_url)
    history = _history_path(loaded)
    console = err()
    progress = console.is_terminal and not as_json

    def on_result(r: CheckResult) -> None:
        if progress:
            console.print(f"  {r.id} {_verdict(r.verdict)} [dim]{r.duration_ms:.0f} ms[/]")

    result = run_dataclips(
        catalog,
        selected,
        url,
        params=params,
        settings=settings,
        max_rows=1000 if csv_dir is not None else SHOWN_ROWS,
        target=target,
        expected_ms=expected_durations(history, target),
        on_result=on_result,
        strict_params=True,
    )
    if not no_history:
        append_run(history, result)
    if csv_dir is not None:
        from keycliq_ops.dataclips.export import write_csv

        files = write_csv(result, csv_dir)
        console.print(f"wrote {len(files)} CSV file(s) to {csv_dir}")
    if as_json:
        emit_json(result)
    else:
        _render_run(result)
    from keycliq_ops.dataclips.verdicts import failing_ids

    bad = failing_ids(result.results)
    warned = [r.id for r in result.results if r.verdict == "warn"]
    if bad:
        raise GateFailed(f"Dataclips failed: {', '.join(bad)} (on {target})")
    if warned and fail_on_warn:
        raise GateFailed(f"Dataclips warned: {', '.join(warned)} (on {target}; --fail-on-warn)")


def _render_trend(t: Trend) -> None:
    from rich.table import Table

    console = out()
    if not t.points:
        console.print(f"no recorded runs of {t.check}" + (f" on {t.target}" if t.target else ""))
        return
    table = Table(
        title=f"{t.check} on {t.target or 'all targets'}: last {len(t.points)} runs",
        title_justify="left",
    )
    table.add_column("number")
    for p in t.points:
        table.add_column(p.at.strftime("%m-%d %H:%M"), justify="right")
    table.add_column("change", justify="right")
    table.add_column("", justify="left")
    for s in t.series:
        change = "" if s.change is None else (("+" if s.change > 0 else "") + _fmt(s.change))
        if s.change_ratio is not None and s.change:
            change += f" ({s.change_ratio:+.0%})"
        flag = f"[bold red]jump > {t.jump_ratio:.0%}[/]" if s.jump else ""
        table.add_row(s.name, *[_fmt(v) if v is not None else "-" for v in s.values], change, flag)
    table.add_row("verdict", *[_verdict(p.verdict) for p in t.points], "", "")
    if len({p.target for p in t.points}) > 1 or t.target is None:
        table.add_row("target", *[p.target for p in t.points], "", "")
    table.add_row("run by", *[p.source for p in t.points], "", "")
    console.print(table)


@app.command(
    "trend",
    help="Show how a check's numbers moved over past runs, the change since the previous "
    "run, and jumps beyond dataclips.trend_jump_ratio. The runs are those of `keycliq "
    "dataclips run` and of the gates of deploy, promote and rollback (one point per action: "
    "its checklist's and its gate's Dataclips); the 'run by' row says which.\n\n"
    "Example: keycliq dataclips trend A -e production --last 5",
)
def trend_(
    ctx: typer.Context,
    check_id: str = typer.Argument(..., metavar="ID", help="The check's id, e.g. A."),
    env_opt: str | None = typer.Option(
        None,
        "--env",
        "-e",
        metavar="ENV",
        help="Only runs against this environment (keycliq.yaml name or Heroku app name; "
        "default: every target, each run with its own). Example: -e staging",
        show_default=False,
    ),
    app_: str | None = typer.Option(
        None,
        "--app",
        "-a",
        hidden=True,
        help="Deprecated alias of -e/--env (kept working). Example: --app staging",
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="KEYCLIQ_DATABASE_URL",
        show_envvar=True,
        show_default=False,
        help="Only runs against this database (matched by host/db; nothing is connected).",
    ),
    last: int = typer.Option(
        10, "--last", "-n", min=1, max=100, help="How many runs. Example: -n 5"
    ),
    ratio: float | None = typer.Option(
        None,
        "--ratio",
        min=0.0,
        help="Flag a change larger than this share of the previous value "
        "(default: dataclips.trend_jump_ratio, 0.5). Example: --ratio 0.2",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    from keycliq_ops.adapters import db
    from keycliq_ops.base.errors import UsageError
    from keycliq_ops.config.settings import DataclipSettings
    from keycliq_ops.dataclips.history import trend

    loaded = _maybe_load(ctx)
    catalog = _catalog(loaded)
    clip_id = catalog.get(check_id).id
    settings = loaded.config.dataclips if loaded is not None else DataclipSettings()
    app_name = _pick_app(loaded, env_opt, app_)
    if app_name and database_url:
        raise UsageError("give either -e/--env or --database-url, not both")
    path = _history_path(loaded)
    # Not named: every target (each point says its own), so that a deploy to staging and
    # the promotion after it are one story.
    target = app_name or (db.describe(database_url) if database_url else None)
    result = trend(
        path,
        clip_id,
        target=target,
        last=last,
        jump_ratio=ratio if ratio is not None else settings.trend_jump_ratio,
    )
    if as_json:
        emit_json(result)
        return
    _render_trend(result)
