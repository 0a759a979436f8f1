"""``keycliq report ENV``: the scheduled health report (one HTML page, or ``--json``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, heroku_client, load, out
from keycliq_ops.cli.envopt import ENV_ARGUMENT, ENV_OPTION

if TYPE_CHECKING:
    from keycliq_ops.ops.health.model import HealthReport

HELP = (
    "Run the environment's report set of Dataclips (report.checks: A, C-ALL, E1-E3, G, H, "
    "I, KEYS-UNSIGNED), record their numbers in the history, and write one self-contained "
    "HTML page: breaches first, the NO_MATCH share over the last runs with the releases "
    "from the ledger, the matchType balance per day, keys without a signature by age, "
    "the costs (an OpenAI estimate, Cloudinary's usage) and each check's numbers. "
    "Thresholds are report.thresholds in keycliq.yaml; webhooks wanting report.breach "
    "are told.\n\n"
    "Exit 0 no breach, 1 a threshold breached (the page is written either way), 2 usage "
    "or config, 3 the database or Heroku unreachable.\n\n"
    "Example: keycliq report production  ·  keycliq report staging --out health.html --json"
)


def register(app: typer.Typer) -> None:
    app.command("report", help=HELP)(report)


def parse_now(text: str | None) -> datetime | None:
    """The hidden ``--now``: an ISO time (UTC unless it says otherwise)."""
    from datetime import UTC

    from keycliq_ops.base.errors import UsageError

    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO time, e.g. 2026-12-01T06:00") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


NOW_OPTION = typer.Option(
    None,
    "--now",
    hidden=True,
    help="Take this ISO time as the report's time (simulated days in tests and demos). "
    "Example: --now 2026-12-01T06:00",
)


def report(
    ctx: typer.Context,
    env_arg: str | None = ENV_ARGUMENT,
    env_opt: str | None = ENV_OPTION,
    output: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        metavar="FILE",
        help="Where to write the HTML page (default: report.output, else "
        ".keycliq/reports/health-ENV.html). Example: --out health.html",
    ),
    runs: int | None = typer.Option(
        None, "--runs", min=2, max=200, help="Past runs to chart (default: report.runs, 10)."
    ),
    no_history: bool = typer.Option(
        False, "--no-history", help="Do not record this run's numbers in the history."
    ),
    no_notify: bool = typer.Option(
        False, "--no-notify", help="Do not tell the report.breach webhooks."
    ),
    as_json: bool = JSON_OPTION,
    now: str | None = NOW_OPTION,
) -> None:
    from keycliq_ops.base.errors import GateFailed
    from keycliq_ops.base.fsutil import atomic_write
    from keycliq_ops.cli.envopt import pick_env
    from keycliq_ops.ops.health.html import render_html
    from keycliq_ops.ops.health.report import build_report, default_output

    loaded = load(ctx)
    env_name = pick_env(loaded, env_arg, env_opt, default_stage="production", what="report")
    at = parse_now(now)
    app = loaded.env(env_name).app
    with heroku_client() as client:
        config_vars = client.config_vars(app)
    console = err()
    if console.is_terminal and not as_json:
        with console.status(f"running the report set on {app}…"):
            result = build_report(
                loaded, env_name, config_vars, now=at, record=not no_history, runs=runs
            )
    else:
        result = build_report(
            loaded, env_name, config_vars, now=at, record=not no_history, runs=runs
        )
    path = output if output is not None else default_output(loaded, env_name)
    result.output = str(path)
    atomic_write(path, render_html(result))
    if result.breaches and not no_notify and loaded.config.notify:
        from keycliq_ops.ops.notify import notify_breach

        result.notifications = notify_breach(
            loaded.config.notify,
            environment=env_name,
            app=app,
            breaches=[b.message for b in result.breaches],
            page=path.name,
        )
    if as_json:
        emit_json(result)
    else:
        render(result)
    if result.breaches:
        n = len(result.breaches)
        raise GateFailed(
            f"{n} threshold{'s' if n != 1 else ''} breached on {env_name}: "
            f"{result.breaches[0].message}",
            hint=f"the page: {path}",
        )


def render(result: HealthReport) -> None:
    from rich.markup import escape

    console = out()
    console.print(f"[bold]Health of {result.environment}[/] ({result.app})")
    if result.breaches:
        for b in result.breaches:
            console.print(f"  [bold red]✗[/] {escape(b.message)}")
    else:
        console.print("  [green]✓[/] every threshold is met")
    if result.costs is not None:
        o = result.costs.openai
        console.print(
            f"  OpenAI (estimate): ${o.usd_last_24h:,.2f} in the last 24 h, "
            f"${o.usd_total:,.2f} over {len(o.days)} days"
        )
    for note in result.notes:
        console.print(f"  [yellow]note[/]: {escape(note)}")
    for n in result.notifications:
        console.print(f"  notified {escape(str(n['target']))}: {n['state']}")
    console.print(f"wrote {escape(str(result.output))}")
