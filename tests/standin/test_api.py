"""Heroku's API manners: auth, version header, errors, rate limit, ranges, statuses that
move from pending to final, couplings and formation."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from keycliq_ops.standin import KeycliqApps, Sandbox

from .helpers import commit_files, follow, push

pytestmark = [pytest.mark.db, pytest.mark.e2e]


def test_a_token_is_required_and_a_wrong_one_gets_401(sandbox: Sandbox) -> None:
    accept = {"Accept": "application/vnd.heroku+json; version=3"}
    for headers in (accept, {**accept, "Authorization": "Bearer not-the-token"}):
        resp = httpx.get(f"{sandbox.url}/account", headers=headers)
        assert resp.status_code == 401
        assert resp.json() == {"id": "unauthorized", "message": "Invalid credentials provided."}
    basic = httpx.get(f"{sandbox.url}/account", headers=accept, auth=("", sandbox.token))
    assert basic.status_code == 200


def test_the_api_version_header_is_required(sandbox: Sandbox) -> None:
    resp = httpx.get(f"{sandbox.url}/account", headers={"Authorization": f"Bearer {sandbox.token}"})
    assert resp.status_code == 400
    assert resp.json()["id"] == "bad_request" and "version=3" in resp.json()["message"]


def test_unknown_things_are_404_with_an_error_body(apps: KeycliqApps, client: httpx.Client) -> None:
    assert client.get("/apps/nope").json() == {
        "id": "not_found",
        "message": "Couldn't find that app.",
    }
    assert client.get("/apps/keycliq-staging/releases/999").status_code == 404
    assert client.get("/no/such/endpoint").json()["id"] == "not_found"
    assert client.get(f"/apps/{apps.staging.id}").json()["name"] == "keycliq-staging"


def test_rate_limit_remaining_counts_down_and_rate_limits_read_it_free(
    client: httpx.Client,
) -> None:
    first = int(client.get("/account").headers["RateLimit-Remaining"])
    second = int(client.get("/account").headers["RateLimit-Remaining"])
    budget = client.get("/account/rate-limits").json()["remaining"]
    assert second == first - 1 and budget == second


def test_ranges_page_with_206_and_next_range(apps: KeycliqApps, client: httpx.Client) -> None:
    for n in range(5):
        client.patch("/apps/keycliq-staging/config-vars", json={f"V{n}": str(n)})
    total = len(client.get("/apps/keycliq-staging/releases").json())

    versions: list[int] = []
    header = "version ..; max=2"
    while True:
        resp = client.get("/apps/keycliq-staging/releases", headers={"Range": header})
        versions += [r["version"] for r in resp.json()]
        if resp.status_code == 200:
            break
        assert resp.status_code == 206
        header = resp.headers["Next-Range"]
    assert versions == list(range(1, total + 1))

    newest = client.get(
        "/apps/keycliq-staging/releases", headers={"Range": "version ..; order=desc, max=1"}
    )
    assert [r["version"] for r in newest.json()] == [total]
    bad = client.get("/apps/keycliq-staging/releases", headers={"Range": "colour ..; max=2"})
    assert bad.status_code == 400 and bad.json()["id"] == "bad_request"


def test_release_stays_pending_until_its_release_phase_ends(
    sandbox: Sandbox, apps: KeycliqApps, tmp_path: Path, client: httpx.Client
) -> None:
    repo = tmp_path / "gated"
    commit_files(
        repo,
        {
            "package.json": '{"name": "gated"}',
            "Procfile": (
                'web: npm start\nrelease: [ -z "$GATE" ] || { read word < "$GATE"; echo $word; }\n'
            ),
        },
        "a release phase that waits on a pipe",
    )
    assert push(repo, sandbox.git_url("keycliq-staging"), "main:main").returncode == 0
    gate = tmp_path / "gate"
    os.mkfifo(gate)

    client.patch("/apps/keycliq-staging/config-vars", json={"GATE": str(gate)})
    pending = client.get("/apps/keycliq-staging/releases").json()
    assert pending[-1]["status"] == "pending" and pending[-1]["current"] is False
    assert pending[-2]["current"] is True

    with gate.open("w") as fh:
        fh.write("opened\n")
    assert follow(client, pending[-1]["output_stream_url"]) == "opened\n"
    final = client.get(f"/apps/keycliq-staging/releases/{pending[-1]['id']}").json()
    assert final["status"] == "succeeded" and final["current"] is True


def test_couplings_pipeline_and_formation(
    sandbox: Sandbox, apps: KeycliqApps, client: httpx.Client
) -> None:
    by_app = client.get("/apps/keycliq-production/pipeline-couplings").json()
    assert by_app["stage"] == "production" and by_app["pipeline"]["id"] == apps.pipeline.id
    stages = {
        c["app"]["id"]: c["stage"]
        for c in client.get(f"/pipelines/{apps.pipeline.id}/pipeline-couplings").json()
    }
    assert stages == {apps.staging.id: "staging", apps.production.id: "production"}
    assert client.get("/pipelines/keycliq").json()["id"] == apps.pipeline.id
    assert client.get("/apps/keycliq-staging/formation").json() == []


def test_each_app_has_its_own_database_and_secrets(apps: KeycliqApps, client: httpx.Client) -> None:
    staging = client.get("/apps/keycliq-staging/config-vars").json()
    production = client.get("/apps/keycliq-production/config-vars").json()
    assert staging["DATABASE_URL"] != production["DATABASE_URL"]
    assert staging["SESSION_SECRET"] != production["SESSION_SECRET"]
    assert len(staging["SESSION_SECRET"]) == 64
    # The app's public URL is the stand-in's loopback page for it (see Sandbox.web_url).
    assert staging["APP_URL"].endswith("/_sandbox/web/keycliq-staging")
    assert staging["NODE_ENV"] == production["NODE_ENV"] == "production"
    assert "RESEND_API_KEY" in production and "RESEND_API_KEY" not in staging
    descriptions = [r["description"] for r in client.get("/apps/keycliq-staging/releases").json()]
    assert descriptions[0] == "Initial release"
    assert descriptions[1].startswith("Attach DATABASE (@ref:postgresql-")


def test_app_url_answers_like_its_web_dyno(sandbox: Sandbox, apps: KeycliqApps) -> None:
    url = sandbox.web_url("keycliq-staging")
    before = httpx.get(url + "/", timeout=10)  # nothing deployed yet: no web process
    assert before.status_code == 503
    assert before.json()["id"] == "application_error"
    router = [ln.render() for ln in sandbox.engine.app("keycliq-staging").log.snapshot()]
    assert any("heroku[router]" in ln and "code=H14" in ln for ln in router), router[-3:]
