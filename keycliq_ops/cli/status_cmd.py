"""``keycliq status``: where each environment stands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, heroku_client, load, out
from keycliq_ops.cli.envopt import ENVS_OPTION

if TYPE_CHECKING:
    from keycliq_ops.ops.status import Comparison, StatusReport

HELP = (
    "Show each environment's app, current release (version, status, age), the commit it "
    "runs and its pipeline stage; the local branch and commit; and whether staging is ahead "
    "of production, by which commits. -e ENV (repeatable; a name from keycliq.yaml or its "
    "Heroku app name) shows only those environments and the comparisons involving them. "
    "Where backups are on (production by default) it also shows the age of the newest "
    "Heroku Postgres backup.\n\n"
    "Exit 0, or 3 when a shown environment could not be read.\n\n"
    "Example: keycliq status  ·  keycliq status -e production  ·  "
    "keycliq status --json | jq '.comparisons'"
)


def register(app: typer.Typer) -> None:
    app.command("status", help=HELP)(status)


def status(
    ctx: typer.Context, env_opts: list[str] = ENVS_OPTION, as_json: bool = JSON_OPTION
) -> None:
    from keycliq_ops.base.errors import HerokuError
    from keycliq_ops.cli.envopt import pick_envs
    from keycliq_ops.ops.status import collect_status

    loaded = load(ctx)
    shown = pick_envs(loaded, None, env_opts) if env_opts else None
    with heroku_client() as client:
        if err().is_terminal and not as_json:
            with err().status(f"asking Heroku about {len(loaded.config.environments)} apps…"):
                report = collect_status(loaded, client, backups=True)
        else:
            report = collect_status(loaded, client, backups=True)
    if shown is not None:
        report = only(report, shown)
    if as_json:
        emit_json(report)
    else:
        render(report)
    failed = [env for env in report.environments if env.error]
    if failed:
        # the reason itself, never "see above" (the table may not hold it: --json, a pipe)
        reasons = "; ".join(f"{env.name} ({env.app}): {env.error}" for env in failed)
        raise HerokuError(f"could not read {reasons}", hint=failed[0].hint)


def only(report: StatusReport, names: list[str]) -> StatusReport:
    """The report narrowed to the environments ``names`` and the comparisons that involve
    one of them (the local checkout's included)."""
    wanted = set(names)
    return report.model_copy(
        update={
            "environments": [e for e in report.environments if e.name in wanted],
            "comparisons": [c for c in report.comparisons if c.base in wanted or c.head in wanted],
        }
    )


def _age(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _size(size: int) -> str:
    from keycliq_ops.adapters.heroku.postgres import filesize

    return filesize(size)


WIDE = 100  # columns from which the commit fits in the table

_STATUS_STYLE = {"succeeded": "green", "pending": "yellow", "failed": "red", "expired": "dim"}


def render(report: StatusReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = out()
    # Narrow (80 columns): the commit (or the error) goes on its own line under the row
    # instead of a column rich would drop; nothing is lost at any width.
    wide = console.width >= WIDE
    table = Table(title=f"pipeline {report.pipeline}", title_justify="left", show_edge=False)
    columns = ("environment", "app", "stage", "release", "status", "age", "commit")
    for column in columns if wide else columns[:-1]:
        table.add_column(column, no_wrap=column != "commit", overflow="fold")
    stacked: list[tuple[str, str, str]] = []

    def add(cells: list[str], last: str, label: str = "commit") -> None:
        if wide:
            table.add_row(*cells, last)
        else:
            table.add_row(*cells)
            stacked.append((cells[0], label, last))

    for env in report.environments:
        if env.error:
            add(
                [env.name, env.app, "", "", "[red]error[/]", ""],
                f"[red]{escape(env.error)}[/]",
                "error",
            )
            continue
        stage = env.stage or "[dim]none[/]"
        if env.stage and env.stage != env.expected_stage:
            stage = f"[red]{env.stage}[/] (want {env.expected_stage})"
        rel = env.release
        commit = "[dim]unknown[/]"
        if env.commit:
            commit = env.commit.sha[:8]
            if env.commit.subject:
                commit += f" {escape(env.commit.subject)}"
        add(
            [
                env.name,
                env.app,
                stage,
                f"v{rel.version}" if rel else "[dim]none[/]",
                f"[{_STATUS_STYLE.get(rel.status, 'white')}]{rel.status}[/]" if rel else "",
                _age(rel.age_seconds) if rel else "",
            ],
            commit,
        )
    console.print(table)
    for name, label, last in stacked:
        console.print(f"  {escape(name)} {label}: {last}")
    for env in report.environments:
        if env.backup is not None:
            b = env.backup
            age = _age(b.age_seconds) if b.age_seconds is not None else "unfinished"
            kind = "scheduled" if b.scheduled else "manual"
            console.print(f"{env.name}: last backup {b.name} {age} ({_size(b.size_bytes)}, {kind})")
    for env in report.environments:
        for note in env.notes:
            console.print(f"[yellow]note[/]: {env.name}: {escape(note)}")
    if report.local:
        loc = report.local
        dirty = "clean" if loc.clean else f"[yellow]{loc.dirty_files} uncommitted changes[/]"
        branch = loc.branch or "[yellow](detached HEAD)[/]"
        allowed = "" if loc.branch_allowed in (True, None) else " [yellow](not a deploy branch)[/]"
        console.print(f"\nlocal: {branch}{allowed} @ {loc.commit[:8]} ({dirty})")
    for comparison in report.comparisons:
        console.print(_describe(comparison))
        for item in comparison.ahead[:20]:
            console.print(f"  + {item.sha[:8]} {escape(item.subject)}")
        if len(comparison.ahead) > 20:
            console.print(f"  … and {len(comparison.ahead) - 20} more")
        for item in comparison.behind[:20]:
            console.print(f"  - {item.sha[:8]} {escape(item.subject)}")
    for note in report.notes:
        console.print(f"[yellow]note[/]: {escape(note)}")


def _describe(c: Comparison) -> str:
    def n(items: list[object]) -> str:
        return f"{len(items)} commit{'s' if len(items) != 1 else ''}"

    if c.state == "same":
        return f"{c.head} runs the same commit as {c.base}"
    if c.state == "ahead":
        return f"{c.head} is {n(list(c.ahead))} ahead of {c.base}:"
    if c.state == "behind":
        return f"{c.head} is {n(list(c.behind))} behind {c.base}:"
    if c.state == "diverged":
        return (
            f"{c.head} and {c.base} have diverged "
            f"({n(list(c.ahead))} only in {c.head}, {n(list(c.behind))} only in {c.base}):"
        )
    return f"{c.head} vs {c.base}: unknown ({c.note})"
