"""``keycliq playbook``: the team's incident playbooks (list, show, run)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.common import (
    JSON_OPTION,
    emit_json,
    err,
    heroku_client,
    learn_app_secrets,
    load,
    out,
)
from keycliq_ops.cli.envopt import ENV_OPTION

if TYPE_CHECKING:
    from keycliq_ops.ops.playbooks import Playbook, PlaybookReport

app = typer.Typer(
    help="The team's incident playbooks: scan-failures (OpenAI), data-integrity (E1/E2/G, "
    "recent key_matchings), email (Resend/Sendgrid, MAIL_FROM_*), missing-images "
    "(Cloudinary). `run` does the automatable diagnosis and prints the manual next steps.\n\n"
    "Exit codes of run: 0 nothing wrong, 1 a finding is an error, 2 usage, "
    "3 Heroku or the database failed.\n\n"
    "Example: keycliq playbook run scan-failures -e production",
    no_args_is_help=True,
)

NAME_ARGUMENT = typer.Argument(
    ..., help="Playbook name (see `keycliq playbook list`), e.g. scan-failures."
)
_STYLE = {"ok": "green", "info": "cyan", "warning": "yellow", "error": "bold red"}
_MARK = {"ok": "✓", "info": "·", "warning": "!", "error": "✗"}


@app.command(
    "list",
    help="List the incident playbooks and when to use each.\n\n"
    "\b\nExamples:\n  keycliq playbook list\n  keycliq playbook list --json",
)
def list_(as_json: bool = JSON_OPTION) -> None:
    from keycliq_ops.ops.playbooks import PLAYBOOKS

    if as_json:
        emit_json([{"name": p.name, "title": p.title, "when": p.when} for p in PLAYBOOKS])
        return
    from rich.table import Table

    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("name")
    table.add_column("title")
    table.add_column("when")
    for p in PLAYBOOKS:
        table.add_row(p.name, p.title, p.when)
    out().print(table)


@app.command(
    "show",
    help="Show a playbook: what `run` checks automatically and the manual steps.\n\n"
    "\b\nExamples:\n  keycliq playbook show email\n  keycliq playbook show data-integrity --json",
)
def show(name: str = NAME_ARGUMENT, as_json: bool = JSON_OPTION) -> None:
    from keycliq_ops.ops.playbooks import get_playbook

    p = get_playbook(name)
    if as_json:
        emit_json(_describe(p))
        return
    console = out()
    console.print(f"[bold]{p.name}[/bold] — {p.title}")
    console.print(f"when: {p.when}")
    console.print("\n[bold]automated (keycliq playbook run):[/bold]")
    for step in p.automated():
        console.print(f"  • {step}")
    console.print("\n[bold]manual next steps:[/bold]")
    for i, step in enumerate(p.manual_steps, 1):
        console.print(f"  {i}. {step}")


def _describe(p: Playbook) -> dict[str, object]:
    return {
        "name": p.name,
        "title": p.title,
        "when": p.when,
        "log_kinds": [*p.error_kinds, *p.context_kinds],
        "config_vars": list(p.config_vars),
        "dataclips": list(p.dataclips),
        "recent_matchings": p.recent_matchings,
        "automated": p.automated(),
        "manual_steps": list(p.manual_steps),
    }


@app.command(
    "run",
    help="Diagnose an incident on an environment: classify the app's recent log lines, "
    "audit the playbook's config vars (values masked), run its Dataclips on the app's "
    "database; then print the findings (each with a severity) and the manual next steps. "
    "-e ENV is an environment of keycliq.yaml or its Heroku app name.\n\n"
    "Exit 0 nothing wrong, 1 a finding is an error, 2 usage, 3 Heroku or the database "
    "failed.\n\n"
    "\b\nExamples:\n"
    "  keycliq playbook run scan-failures -e production\n"
    "  keycliq playbook run data-integrity -e keycliq-staging --json\n"
    "  keycliq playbook run email --env production --lines 1500",
)
def run(
    ctx: typer.Context,
    name: str = NAME_ARGUMENT,
    env_opt: str | None = ENV_OPTION,
    lines: int = typer.Option(
        500,
        "--lines",
        "-n",
        min=1,
        max=1500,
        help="How many recent log lines to classify (1–1500). Example: --lines 1500",
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the report as JSON (findings, log counts, manual steps). Example: --json",
    ),
) -> None:
    from keycliq_ops.base.errors import GateFailed
    from keycliq_ops.cli.envopt import pick_env
    from keycliq_ops.dataclips import load_catalog
    from keycliq_ops.ops.playbooks import get_playbook, run_playbook

    playbook = get_playbook(name)
    loaded = load(ctx)
    env = pick_env(loaded, env_opt, what=f"keycliq playbook run {playbook.name}")
    target = loaded.env(env)
    with heroku_client() as client:
        learn_app_secrets(loaded, client)  # the log read may quote either app's secrets
        report = run_playbook(
            playbook,
            env,
            target,
            client,
            catalog=load_catalog(loaded.dataclips_dir) if playbook.dataclips else None,
            lines=lines,
            progress=lambda msg: err().print(f"[dim]{msg}…[/dim]"),
        )
    if as_json:
        emit_json({**report.model_dump(mode="json"), "ok": report.ok})
    else:
        _print_report(report)
    if not report.ok:
        what = ", ".join(f.check for f in report.errors())
        raise GateFailed(
            f"playbook {playbook.name} on {target.app}: {what}",
            hint="follow the manual next steps above",
        )


def _print_report(report: PlaybookReport) -> None:
    from rich.markup import escape

    console = out()
    console.print(f"[bold]{report.title}[/bold] — {report.app} ({report.environment})")
    if report.log_lines is not None:
        counts = ", ".join(f"{k} {n}" for k, n in report.log_counts.items())
        console.print(f"log: {report.log_lines} lines read; {counts}")
    console.print("\n[bold]findings:[/bold]")
    for f in report.findings:
        style = _STYLE[f.severity]
        console.print(
            f"  [{style}]{_MARK[f.severity]} {f.severity:<7}[/{style}] {escape(f.message)}"
        )
        for line in f.lines:
            console.print(f"      {escape(line)}", soft_wrap=True)
    console.print("\n[bold]manual next steps:[/bold]")
    for i, step in enumerate(report.manual_steps, 1):
        console.print(f"  {i}. {escape(step)}")
