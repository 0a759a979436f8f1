"""The OpenAI estimate's arithmetic and the Cloudinary usage client (MockTransport)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from keycliq_ops.adapters.cloudinary import CloudinaryCredentials, api_base, fetch_usage
from keycliq_ops.base.errors import WebError
from keycliq_ops.config.health_settings import CloudinarySettings, OpenAIPrices
from keycliq_ops.dataclips import CheckResult
from keycliq_ops.ops.health.costs import cloudinary_figures, openai_estimate, window_days

UNTIL = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
CREDS = CloudinaryCredentials("keycliq-production", "123456789012345", "s3cret-" + "q" * 20)
USAGE = {
    "plan": "Plus",
    "last_updated": "2026-11-30",
    "storage": {"usage": 5_368_709_120, "credits_usage": 5.0},
    "bandwidth": {"usage": 1_073_741_824, "credits_usage": 1.0},
    "transformations": {"usage": 2000, "credits_usage": 2.0},
    "credits": {"usage": 8.0, "limit": 225, "used_percent": 3.56},
    "objects": {"usage": 1200},
    "requests": 9000,
    "media_limits": {"image_max_size_bytes": 20971520},
    "some_future_field": {"x": 1},
}


def costs_result(rows: list[tuple[int, int, int]]) -> CheckResult:
    """COSTS rows: (day, scans, inventory signatures); day 0 is the last 24 hours."""
    return CheckResult(
        id="COSTS",
        title="calls",
        verdict="info",
        duration_ms=1,
        columns=["day", "day_start", "scans", "inventory_signatures"],
        rows=[
            [d, (UNTIL - timedelta(days=d + 1)).replace(tzinfo=None).isoformat(), s, k]
            for d, s, k in rows
        ],
        row_count=len(rows),
    )


def test_the_default_prices_make_a_call_cost_0_00575() -> None:
    prices = OpenAIPrices()
    assert prices.usd_per_call() == pytest.approx((1500 * 2.5 + 200 * 10) / 1e6)
    est = openai_estimate(
        costs_result([(2, 100, 4), (1, 50, 0), (0, 10, 2)]),
        prices,
        since=UNTIL - timedelta(days=3),
        until=UNTIL,
    )
    assert [d.scans for d in est.days] == [100, 50, 10]  # oldest first
    assert est.calls == 166 and est.usd_total == pytest.approx(166 * 0.00575)
    assert est.usd_last_24h == pytest.approx(12 * 0.00575)
    assert est.estimate is True and "estimate" in est.label


def test_other_prices_and_no_signatures() -> None:
    prices = OpenAIPrices(
        prompt_tokens=1000,
        image_tokens=0,
        output_tokens=0,
        input_usd_per_million=1.0,
        count_signatures=False,
    )
    est = openai_estimate(
        costs_result([(0, 1000, 500)]), prices, since=UNTIL - timedelta(days=1), until=UNTIL
    )
    assert est.calls == 1000 and est.usd_total == pytest.approx(1.0)


def test_window_days() -> None:
    assert window_days(UNTIL - timedelta(days=30), UNTIL) == 30
    assert window_days(UNTIL - timedelta(hours=36), UNTIL) == 2
    with pytest.raises(Exception, match="before"):
        window_days(UNTIL, UNTIL)


def test_usage_is_read_with_basic_auth_and_unknown_fields_ignored() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=USAGE)

    got = fetch_usage(
        CREDS, base_url="https://api.cloudinary.test", transport=httpx.MockTransport(handle)
    )
    assert got.plan == "Plus" and got.credits is not None and got.credits.limit == 225
    assert got.storage.usage == 5_368_709_120 and got.objects is not None
    (request,) = seen
    assert request.url.path == "/v1_1/keycliq-production/usage"
    expected = base64.b64encode(f"{CREDS.api_key}:{CREDS.api_secret}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_refused_credentials_and_retries() -> None:
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503 if len(calls) == 1 else 200, json=USAGE)

    got = fetch_usage(CREDS, base_url="https://c.test", transport=httpx.MockTransport(flaky))
    assert got.plan == "Plus" and len(calls) == 2
    refused = httpx.MockTransport(lambda r: httpx.Response(401, json={"error": {"message": "no"}}))
    with pytest.raises(WebError, match="refused the app's credentials") as info:
        fetch_usage(CREDS, base_url="https://c.test", transport=refused)
    assert CREDS.api_secret not in str(info.value) and CREDS.api_key not in str(info.value)
    always = httpx.MockTransport(lambda r: httpx.Response(500))
    with pytest.raises(WebError, match="HTTP 500"):
        fetch_usage(CREDS, base_url="https://c.test", retries=1, transport=always)


def test_figures_say_why_they_are_missing() -> None:
    settings = CloudinarySettings(api_url="https://c.test")
    missing = cloudinary_figures({"CLOUDINARY_CLOUD_NAME": "x"}, settings)
    assert not missing.available and "CLOUDINARY_API_KEY" in (missing.error or "")
    off = cloudinary_figures({}, CloudinarySettings(enabled=False))
    assert not off.available and "disabled" in (off.error or "")
    config = {
        "CLOUDINARY_CLOUD_NAME": CREDS.cloud_name,
        "CLOUDINARY_API_KEY": CREDS.api_key,
        "CLOUDINARY_API_SECRET": CREDS.api_secret,
    }
    ok = cloudinary_figures(
        config, settings, transport=httpx.MockTransport(lambda r: httpx.Response(200, json=USAGE))
    )
    assert ok.available and ok.credits_used == 8.0 and ok.storage_credits == 5.0


def test_the_api_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYCLIQ_CLOUDINARY_API", raising=False)
    assert api_base() == "https://api.cloudinary.com"
    monkeypatch.setenv("KEYCLIQ_CLOUDINARY_API", "http://127.0.0.1:9/")
    assert api_base() == "http://127.0.0.1:9"
    assert api_base("https://other.test") == "https://other.test"
    monkeypatch.setenv("KEYCLIQ_CLOUDINARY_API", "ftp://x")
    with pytest.raises(Exception, match="not an http"):
        api_base()
