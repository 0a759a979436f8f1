"""``keycliq costs ENV``: the OpenAI estimate and Cloudinary's usage, as a table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, heroku_client, load, out
from keycliq_ops.cli.envopt import ENV_ARGUMENT, ENV_OPTION
from keycliq_ops.cli.report_cmd import NOW_OPTION

if TYPE_CHECKING:
    from keycliq_ops.ops.health.model import CostReport

HELP = (
    "Show what the environment costs: an OpenAI ESTIMATE (scans and inventory signatures "
    "per day from the database, times the token estimate and prices in costs.openai of "
    "keycliq.yaml; defaults: 500 prompt + 1,000 image + 200 output tokens on GPT-4o at "
    "$2.50 / $10 per million) and Cloudinary's storage, bandwidth, transformations and "
    "credits from its Admin API, with the app's own CLOUDINARY_* config vars (never "
    "shown).\n\n"
    "Exit 0, 2 usage or config, 3 the database, Heroku or Cloudinary unreachable (the "
    "table is shown first).\n\n"
    "Example: keycliq costs production  ·  keycliq costs staging --since 7d --json"
)


def register(app: typer.Typer) -> None:
    app.command("costs", help=HELP)(costs)


def costs(
    ctx: typer.Context,
    env_arg: str | None = ENV_ARGUMENT,
    env_opt: str | None = ENV_OPTION,
    since: str = typer.Option(
        "30d",
        "--since",
        help="How far back: 30d, 2w, 48h, or an ISO date. Example: --since 7d",
    ),
    as_json: bool = JSON_OPTION,
    now: str | None = NOW_OPTION,
) -> None:
    from datetime import UTC, datetime

    from keycliq_ops.base.errors import WebError
    from keycliq_ops.cli.envopt import pick_env
    from keycliq_ops.cli.report_cmd import parse_now
    from keycliq_ops.ledger import parse_since
    from keycliq_ops.ops.health.costs import collect_costs

    loaded = load(ctx)
    env_name = pick_env(loaded, env_arg, env_opt, default_stage="production", what="costs")
    at = parse_now(now) or datetime.now(UTC)
    start = parse_since(since, now=at)
    app = loaded.env(env_name).app
    with heroku_client() as client:
        config_vars = client.config_vars(app)
    result = collect_costs(loaded, env_name, config_vars, now=at, since=start)
    if as_json:
        emit_json(result)
    else:
        render(result)
    c = result.cloudinary
    if not c.available and c.cloud_name is not None:  # configured, but no answer
        raise WebError(
            f"Cloudinary usage of {app}: {c.error}",
            kind="Unavailable",
            detail=c.error or "",
            hint=c.hint,
        )


def render(result: CostReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    from keycliq_ops.ops.health.html import _bytes

    o = result.openai
    console = out()
    table = Table(
        title=f"OpenAI on {result.environment} ({result.app}) — ESTIMATE",
        title_justify="left",
        caption=o.label,
        caption_justify="left",
    )
    for name in ("day (24 h ending)", "scans", "signatures", "calls", "est. USD"):
        table.add_column(name, justify="left" if name.startswith("day") else "right")
    for d in o.days:
        end = d.start.replace(microsecond=0)
        table.add_row(
            f"{end:%Y-%m-%d %H:%M}",
            f"{d.scans:,}",
            f"{d.inventory_signatures:,}",
            f"{d.calls:,}",
            f"${d.usd:,.4f}",
        )
    table.add_row(
        "[bold]total[/]",
        f"{o.scans:,}",
        f"{o.inventory_signatures:,}",
        f"{o.calls:,}",
        f"[bold]${o.usd_total:,.4f}[/]",
    )
    console.print(table)
    console.print(
        f"{escape(o.model)}: ${o.usd_per_call:.5f} a call; ${o.usd_per_day:,.4f} a day on average"
    )
    c = result.cloudinary
    if not c.available:
        console.print(f"Cloudinary: [yellow]not available[/]: {escape(c.error or '')}")
        return
    cloud = Table(title=f"Cloudinary ({escape(c.plan or '?')} plan)", title_justify="left")
    cloud.add_column("metered")
    cloud.add_column("usage", justify="right")
    cloud.add_column("credits", justify="right")
    cloud.add_row("storage", _bytes(c.storage_bytes), f"{c.storage_credits or 0:,.2f}")
    cloud.add_row("bandwidth", _bytes(c.bandwidth_bytes), f"{c.bandwidth_credits or 0:,.2f}")
    cloud.add_row(
        "transformations",
        f"{c.transformations or 0:,.0f}",
        f"{c.transformations_credits or 0:,.2f}",
    )
    if c.credits_used is not None:
        cloud.add_row(
            "[bold]credits used[/]",
            f"{c.credits_used_percent or 0:,.1f} % of {c.credits_limit or 0:,.0f}",
            f"{c.credits_used:,.2f}",
        )
    console.print(cloud)
