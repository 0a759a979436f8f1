"""The rotation core over respx: refusals, failures recorded in the ledger, the listing."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.base.errors import UsageError
from keycliq_ops.config import LoadedConfig, load_config
from keycliq_ops.ledger import Ledger
from keycliq_ops.ops.config_audit import secret_digest
from keycliq_ops.ops.secrets import (
    PreparedRotation,
    check_var,
    digest8,
    list_secrets,
    prepare_rotation,
    rotation_action,
)
from keycliq_ops.release.lifecycle import ActionOutcome, check, run_action
from keycliq_ops.release.session import Session

BASE = "https://api.test"
STAGING = f"{BASE}/apps/keycliq-staging"
OLD = "a" * 64
PROD = "b" * 64
CONFIG = """\
version: 1
pipeline: keycliq
environments:
  staging: {app: keycliq-staging, stage: staging}
  production: {app: keycliq-production, stage: production}
paths: {ledger: ledger.jsonl}
"""


@pytest.fixture
def loaded(tmp_path: Path) -> LoadedConfig:
    path = tmp_path / "keycliq.yaml"
    path.write_text(CONFIG)
    return load_config(path)


@pytest.fixture
def client() -> HerokuClient:
    return HerokuClient("t0ken-abcdef", BASE, max_retries=0, sleep=lambda _s: None)


def _release(version: int, status: str, description: str = "Set SESSION_SECRET config vars"):  # type: ignore[no-untyped-def]
    return {
        "id": f"00000000-0000-0000-0000-{version:012d}",
        "version": version,
        "status": status,
        "description": description,
        "created_at": "2026-11-28T03:05:12Z",
    }


def rotate(
    client: HerokuClient, loaded: LoadedConfig, ledger: Ledger, prepared: PreparedRotation
) -> ActionOutcome[PreparedRotation]:
    """The rotation through the release lifecycle, outside a git checkout (as the CLI may)."""
    session = Session(
        loaded=loaded,
        env_name=prepared.plan.environment,
        client=client,
        repo=None,
        ledger=ledger,
        commit="",
        branch=None,
        sleep=lambda _s: None,
    )
    return run_action(check(rotation_action(session, prepared)), lambda _event: None)


def _mock_vars(router: respx.Router) -> None:
    router.get(f"{STAGING}/config-vars").respond(
        json={
            "SESSION_SECRET": OLD,
            "OPENAI_API_KEY": "sk-old-" + "x1" * 10,
            "NODE_ENV": "production",
        }
    )
    router.get(f"{BASE}/apps/keycliq-production/config-vars").respond(json={"SESSION_SECRET": PROD})
    # Every record names the Heroku account that acted (GET /account, once per action).
    router.get(f"{BASE}/account", name="account").respond(
        json={"id": "01234567-89ab-cdef-0123-456789abcdef", "email": "ann@example.com"}
    )


def test_check_var_sorts_vars() -> None:
    assert check_var("SESSION_SECRET") == "generated"
    assert check_var("RESEND_API_KEY") == "stdin"
    with pytest.raises(UsageError, match="Heroku Postgres manages it") as exc:
        check_var("DATABASE_URL")
    assert exc.value.hint and "pg:credentials:rotate" in exc.value.hint
    with pytest.raises(UsageError, match="not a secret"):
        check_var("NODE_ENV")


@respx.mock(assert_all_mocked=True)
def test_generated_secret_is_fresh_and_masked(
    respx_mock: respx.Router, client: HerokuClient, loaded: LoadedConfig
) -> None:
    _mock_vars(respx_mock)
    respx_mock.routes.pop("account")  # preparing records nothing: no account lookup
    prepared = prepare_rotation(client, loaded, "staging", "SESSION_SECRET", None)
    plan = prepared.plan
    assert len(prepared.new_value) == 64 and prepared.new_value not in (OLD, PROD)
    assert plan.old_digest == secret_digest(OLD)[:8] == digest8(OLD)
    assert plan.new_digest == digest8(prepared.new_value)
    dumped = plan.model_dump_json() + repr(prepared)
    assert OLD not in dumped and prepared.new_value not in dumped
    assert plan.signs_out and plan.note and "signed out" in plan.note


@respx.mock(assert_all_mocked=True)
def test_a_failed_api_call_is_recorded_failed(
    respx_mock: respx.Router, client: HerokuClient, loaded: LoadedConfig
) -> None:
    _mock_vars(respx_mock)
    respx_mock.get(f"{STAGING}/releases").respond(json=[_release(7, "succeeded")])
    respx_mock.patch(f"{STAGING}/config-vars").respond(
        500, json={"id": "internal_server_error", "message": "boom"}
    )
    ledger = Ledger(loaded.ledger_path)
    prepared = prepare_rotation(client, loaded, "staging", "SESSION_SECRET", None)
    outcome = rotate(client, loaded, ledger, prepared)
    assert outcome.exit_code == 3 and outcome.result.failed_step == "config"
    assert outcome.result.error and "boom" in outcome.result.error
    records = [json.loads(x) for x in loaded.ledger_path.read_text().splitlines()]
    assert [r["outcome"] for r in records] == ["running", "failed"]
    assert records[1]["exit_code"] == 3 and records[1]["details"]["var"] == "SESSION_SECRET"
    text = loaded.ledger_path.read_text()
    assert OLD not in text and prepared.new_value not in text


@respx.mock(assert_all_mocked=True)
def test_a_failed_release_is_recorded_with_its_version(
    respx_mock: respx.Router, client: HerokuClient, loaded: LoadedConfig
) -> None:
    _mock_vars(respx_mock)
    respx_mock.get(f"{STAGING}/releases").mock(
        side_effect=[
            httpx.Response(200, json=[_release(7, "succeeded")]),
            httpx.Response(200, json=[_release(8, "failed"), _release(7, "succeeded")]),
        ]
    )
    respx_mock.patch(f"{STAGING}/config-vars").respond(json={"SESSION_SECRET": "c" * 64})
    ledger = Ledger(loaded.ledger_path)
    prepared = prepare_rotation(client, loaded, "staging", "SESSION_SECRET", None)
    outcome = rotate(client, loaded, ledger, prepared)
    assert outcome.exit_code == 3
    assert outcome.result.error and "release v8 failed" in outcome.result.error
    end = ledger.latest(1)[0]
    assert end.status == "failed"
    assert end.value("release_version") == 8


@respx.mock(assert_all_mocked=True, assert_all_called=False)
def test_list_shows_the_newest_successful_rotation(
    respx_mock: respx.Router, client: HerokuClient, loaded: LoadedConfig
) -> None:
    _mock_vars(respx_mock)
    ledger = Ledger(loaded.ledger_path)
    first = ledger.begin("secret-rotation", "staging", details={"var": "SESSION_SECRET"})
    ledger.complete(first, "succeeded", 0, release_version=3)
    second = ledger.begin("secret-rotation", "staging", details={"var": "SESSION_SECRET"})
    ledger.complete(second, "succeeded", 0, release_version=5)
    failed = ledger.begin("secret-rotation", "staging", details={"var": "SESSION_SECRET"})
    ledger.complete(failed, "failed", 3)
    other = ledger.begin("secret-rotation", "production", details={"var": "OPENAI_API_KEY"})
    ledger.complete(other, "succeeded", 0)
    listing = list_secrets(client, loaded, "staging", ledger)
    rows = {r.name: r for r in listing.vars}
    assert rows["SESSION_SECRET"].ledger_id == second.id
    assert rows["SESSION_SECRET"].release_version == 5
    assert rows["OPENAI_API_KEY"].last_rotated is None
    assert rows["NODE_ENV"].value == "production" and not rows["NODE_ENV"].secret
    assert OLD not in listing.model_dump_json()
