"""Costs: the OpenAI estimate from database counts, and Cloudinary's own usage report.

The estimate multiplies, for each 24-hour window, the scans (``key_queries`` rows) and,
when ``costs.openai.count_signatures``, the inventory signatures (``key_signatures`` rows
with a ``"keyId"``) by the cost of one call: (prompt + image tokens) times the input
price plus output tokens times the output price (defaults: 500 + 1,000 and 200 tokens on
GPT-4o at $2.50 and $10 per million, so $0.00575 a call). It is labelled an estimate
everywhere it shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from keycliq_ops.base.errors import UsageError
from keycliq_ops.ops.health.model import (
    CloudinaryFigures,
    CostDay,
    CostReport,
    OpenAIEstimate,
)

if TYPE_CHECKING:
    from keycliq_ops.adapters.cloudinary import Transport
    from keycliq_ops.config import LoadedConfig
    from keycliq_ops.config.health_settings import CloudinarySettings, OpenAIPrices
    from keycliq_ops.dataclips import CheckResult

MAX_DAYS = 366


def window_days(since: datetime, until: datetime) -> int:
    """How many 24-hour windows cover ``since`` to ``until`` (at least one)."""
    if since >= until:
        raise UsageError("--since must be before the report's time")
    days = math.ceil((until - since) / timedelta(days=1))
    if days > MAX_DAYS:
        raise UsageError(f"--since reaches back {days} days; at most {MAX_DAYS}")
    return max(1, days)


def naive_utc(at: datetime) -> datetime:
    """``at`` as the database stores it (Prisma's timestamp(3): naive UTC)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at


def _rows(result: CheckResult) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, row, strict=False)) for row in result.rows]


def _when(value: Any) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def openai_estimate(
    result: CheckResult, prices: OpenAIPrices, *, since: datetime, until: datetime
) -> OpenAIEstimate:
    """The estimate from the COSTS check's rows (one per 24-hour window)."""
    per_call = prices.usd_per_call()
    days: list[CostDay] = []
    for row in sorted(_rows(result), key=lambda r: -int(r["day"])):
        scans = int(row.get("scans") or 0)
        sigs = int(row.get("inventory_signatures") or 0)
        calls = scans + (sigs if prices.count_signatures else 0)
        days.append(
            CostDay(
                start=_when(row["day_start"]),
                scans=scans,
                inventory_signatures=sigs,
                calls=calls,
                usd=round(calls * per_call, 6),
            )
        )
    calls = sum(d.calls for d in days)
    total = round(calls * per_call, 6)
    return OpenAIEstimate(
        model=prices.model,
        tokens_per_call={
            "prompt": prices.prompt_tokens,
            "image": prices.image_tokens,
            "output": prices.output_tokens,
        },
        usd_per_million={
            "input": prices.input_usd_per_million,
            "output": prices.output_usd_per_million,
        },
        usd_per_call=per_call,
        count_signatures=prices.count_signatures,
        since=since,
        until=until,
        days=days,
        scans=sum(d.scans for d in days),
        inventory_signatures=sum(d.inventory_signatures for d in days),
        calls=calls,
        usd_total=total,
        usd_last_24h=days[-1].usd if days else 0.0,
        usd_per_day=round(total / len(days), 6) if days else 0.0,
    )


def cloudinary_figures(
    config_vars: Mapping[str, str],
    settings: CloudinarySettings,
    *,
    transport: Transport | None = None,
) -> CloudinaryFigures:
    """Cloudinary's usage for the app's cloud, with its own CLOUDINARY_* config vars; a
    failure is recorded in the figures (``available: false``), never raised."""
    from keycliq_ops.adapters.cloudinary import CloudinaryCredentials, fetch_usage
    from keycliq_ops.base.errors import ExternalError

    if not settings.enabled:
        return CloudinaryFigures(available=False, error="disabled (costs.cloudinary.enabled)")
    creds = CloudinaryCredentials.from_config(config_vars)
    if creds is None:
        return CloudinaryFigures(
            available=False,
            error="the app has no CLOUDINARY_CLOUD_NAME / CLOUDINARY_API_KEY / "
            "CLOUDINARY_API_SECRET",
        )
    try:
        usage = fetch_usage(
            creds, timeout=settings.timeout, base_url=settings.api_url, transport=transport
        )
    except ExternalError as exc:
        return CloudinaryFigures(
            available=False, error=exc.message, hint=exc.hint, cloud_name=creds.cloud_name
        )
    credits = usage.credits
    return CloudinaryFigures(
        available=True,
        cloud_name=creds.cloud_name,
        plan=usage.plan,
        last_updated=usage.last_updated,
        storage_bytes=usage.storage.usage,
        storage_credits=usage.storage.credits_usage,
        bandwidth_bytes=usage.bandwidth.usage,
        bandwidth_credits=usage.bandwidth.credits_usage,
        transformations=usage.transformations.usage,
        transformations_credits=usage.transformations.credits_usage,
        credits_used=credits.usage if credits else None,
        credits_limit=credits.limit if credits else None,
        credits_used_percent=credits.used_percent if credits else None,
        objects=usage.objects.usage if usage.objects else None,
        requests=usage.requests,
        resources=usage.resources,
        derived_resources=usage.derived_resources,
    )


def costs_run(
    loaded: LoadedConfig | None,
    database_url: str,
    *,
    target: str,
    until: datetime,
    days: int,
) -> CheckResult:
    """Run COSTS read-only (not recorded in the history)."""
    from keycliq_ops.dataclips import run_dataclips
    from keycliq_ops.ops.health.catalog import report_catalog

    settings = loaded.config.dataclips if loaded is not None else None
    run = run_dataclips(
        report_catalog(loaded),
        ["COSTS"],
        database_url,
        params={"until": naive_utc(until).isoformat(), "days": str(days)},
        settings=settings,
        max_rows=MAX_DAYS + 1,
        target=target,
    )
    return run.results[0]


def collect_costs(
    loaded: LoadedConfig,
    env_name: str,
    config_vars: Mapping[str, str],
    *,
    now: datetime,
    since: datetime,
    database_url: str | None = None,
    transport: Transport | None = None,
) -> CostReport:
    """The cost table of ``env_name``: the OpenAI estimate and Cloudinary's usage."""
    from keycliq_ops.adapters import db
    from keycliq_ops.base.errors import DatabaseError

    env = loaded.env(env_name)
    url = db.database_url_of(config_vars, env.app, database_url)
    days = window_days(since, now)
    result = costs_run(loaded, url, target=env.app, until=now, days=days)
    if result.verdict == "error":
        raise DatabaseError(f"COSTS on {env.app}: {result.error}")
    settings = loaded.config.costs
    return CostReport(
        environment=env_name,
        app=env.app,
        generated_at=now,
        openai=openai_estimate(
            result, settings.openai, since=now - timedelta(days=days), until=now
        ),
        cloudinary=cloudinary_figures(config_vars, settings.cloudinary, transport=transport),
    )
