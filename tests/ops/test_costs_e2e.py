"""``keycliq costs`` against the stand-in: the OpenAI estimate from the seeded counts
(computed here by hand), and Cloudinary's usage as the stand-in's endpoint serves it to
the app's own credentials."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from tests.world import World

STAGING = "keycliq-staging"


def counts(url: str, since: datetime, until: datetime) -> tuple[int, int]:
    """(scans, inventory signatures) created in [since, until), straight from the tables."""
    lo, hi = (t.astimezone(UTC).replace(tzinfo=None) for t in (since, until))
    with psycopg.connect(url) as conn:
        scans = conn.execute(
            'SELECT count(*) FROM key_queries WHERE "createdAt" >= %s AND "createdAt" < %s',
            (lo, hi),
        ).fetchone()
        sigs = conn.execute(
            'SELECT count(*) FROM key_signatures WHERE "keyId" IS NOT NULL '
            'AND "createdAt" >= %s AND "createdAt" < %s',
            (lo, hi),
        ).fetchone()
    assert scans is not None and sigs is not None
    return int(scans[0]), int(sigs[0])


def served_usage(world: World) -> dict[str, object]:
    """What the stand-in's Cloudinary endpoint answers the app's own credentials."""
    config = world.sandbox.engine.app(STAGING).config
    got = httpx.get(
        f"{world.sandbox.url}/v1_1/{config['CLOUDINARY_CLOUD_NAME']}/usage",
        auth=(config["CLOUDINARY_API_KEY"], config["CLOUDINARY_API_SECRET"]),
    )
    assert got.status_code == 200
    data = got.json()
    assert isinstance(data, dict)
    return data


def test_costs_json_is_the_hand_computed_estimate_and_cloudinarys_figures(
    world: World,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEYCLIQ_CLOUDINARY_API", world.sandbox.url)
    now = datetime.now(UTC).replace(microsecond=0)
    result = cli("costs", "staging", "--since", "30d", "--now", now.isoformat(), "--json")
    assert result.code == 0, result.output
    report = json.loads(result.stdout)

    scans, sigs = counts(world.database_url(), now - timedelta(days=30), now)
    assert scans > 100 and sigs > 0  # the seed spreads ~1,000 scans over 90 days
    # GPT-4o per call: (500 prompt + 1,000 image) at $2.50/M + 200 at $10/M = $0.00575.
    per_call = (500 + 1000) * 2.50 / 1e6 + 200 * 10.0 / 1e6
    openai = report["openai"]
    assert openai["estimate"] is True and "estimate" in openai["label"]
    assert openai["scans"] == scans and openai["inventory_signatures"] == sigs
    assert openai["calls"] == scans + sigs
    assert openai["usd_total"] == pytest.approx((scans + sigs) * per_call, abs=1e-6)
    assert len(openai["days"]) == 30
    assert sum(d["scans"] for d in openai["days"]) == scans
    last_scans, last_sigs = counts(world.database_url(), now - timedelta(days=1), now)
    assert openai["usd_last_24h"] == pytest.approx((last_scans + last_sigs) * per_call, abs=1e-6)

    served = served_usage(world)
    cloud = report["cloudinary"]
    assert cloud["available"] is True and cloud["plan"] == served["plan"]
    assert cloud["storage_bytes"] == served["storage"]["usage"]  # type: ignore[index]
    assert cloud["bandwidth_bytes"] == served["bandwidth"]["usage"]  # type: ignore[index]
    assert cloud["transformations"] == served["transformations"]["usage"]  # type: ignore[index]
    assert cloud["credits_used"] == served["credits"]["usage"]  # type: ignore[index]
    assert cloud["credits_limit"] == served["credits"]["limit"]  # type: ignore[index]
    assert cloud["storage_bytes"] > 0  # the seeded keys' photos
    config = world.sandbox.engine.app(STAGING).config
    assert config["CLOUDINARY_API_SECRET"] not in result.output
    assert config["CLOUDINARY_API_KEY"] not in result.output

    # The table says it is an estimate, and shows the same total.
    table = cli("costs", "staging", "--since", "30d", "--now", now.isoformat())
    assert table.code == 0, table.output
    assert "ESTIMATE" in table.stdout and f"${openai['usd_total']:,.4f}" in table.stdout
    assert "Cloudinary (Free plan)" in table.stdout


def test_refused_credentials_are_exit_3_without_the_secret(
    world: World,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEYCLIQ_CLOUDINARY_API", world.sandbox.url)
    served_usage(world)  # Cloudinary knows the cloud's key pair from now on
    wrong = "rotated-on-heroku-only-" + "x" * 20
    world.sandbox.engine.app(STAGING).config["CLOUDINARY_API_SECRET"] = wrong
    result = cli("costs", "staging", "--json")
    assert result.code == 3, result.output
    report = json.loads(result.stdout)  # the estimate is still printed
    assert report["openai"]["calls"] >= 0
    assert report["cloudinary"]["available"] is False
    assert "refused the app's credentials" in report["cloudinary"]["error"]
    assert wrong not in result.output


def test_costs_help_has_an_example(cli: Any) -> None:
    for command in ("costs", "report"):
        result = cli(command, "--help")
        assert result.code == 0 and "Example: keycliq " + command in result.stdout
