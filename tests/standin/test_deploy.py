"""Acceptance: a real git push builds and releases; the release phase migrates the app's
own embedded database; promotion migrates production; config changes and rollbacks make
releases as Heroku does."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
import pytest

from keycliq_ops.standin import KeycliqApps, Sandbox
from keycliq_ops.standin.sample.repo import INDEX_MIGRATION, INIT_MIGRATION, SampleRepo, index_names

from .helpers import commit_files, follow, promotion_target_released, push, release_done

pytestmark = [pytest.mark.db, pytest.mark.e2e]

TABLES = {"User", "Session", "PasswordResetToken", "keys", "key_queries", "key_signatures"}


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def _indexes(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select indexname from pg_indexes where schemaname='public'").fetchall()
    return {r[0] for r in rows}


def _migrations(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            'select migration_name from "_prisma_migrations" '
            "where finished_at is not null order by migration_name"
        ).fetchall()
    return [r[0] for r in rows]


def test_push_builds_releases_and_migrates_the_database(
    sandbox: Sandbox, sample: SampleRepo, client: httpx.Client
) -> None:
    url = sandbox.database_url("keycliq-staging")
    assert _tables(url) == set()

    done = push(sample.path, "heroku-staging", "main:main")

    assert done.returncode == 0, done.stderr
    assert "remote: -----> Node.js app detected" in done.stderr
    assert "remote: Applying migration `20250302120000_add_query_indexes`" in done.stderr
    assert "remote: Waiting for release.... done." in done.stderr
    builds = client.get("/apps/keycliq-staging/builds").json()
    assert [(b["status"], b["source_blob"]["version"]) for b in builds] == [
        ("succeeded", sample.head)
    ]
    release = release_done(client, "keycliq-staging", builds[0]["release"]["id"])
    assert release["id"] == builds[0]["release"]["id"]
    assert release["status"] == "succeeded" and release["current"] is True
    assert release["slug"] == {"id": builds[0]["slug"]["id"]}
    assert TABLES | {"key_matchings", "_prisma_migrations"} <= _tables(url)
    assert set(index_names()) <= _indexes(url)
    assert _migrations(url) == [INIT_MIGRATION, INDEX_MIGRATION]
    # Production was not touched.
    assert _tables(sandbox.database_url("keycliq-production")) == set()


def test_failed_build_rejects_the_push_and_changes_nothing(
    sandbox: Sandbox, apps: KeycliqApps, tmp_path: Path, client: httpx.Client
) -> None:
    repo = tmp_path / "broken"
    commit_files(repo, {"Procfile": "web: npm start\n"}, "no package.json")

    done = push(repo, sandbox.git_url("keycliq-staging"), "main:main")

    assert done.returncode != 0
    assert "remote:  !     No default language could be detected for this app." in done.stderr
    assert "pre-receive hook declined" in done.stderr
    assert [b["status"] for b in client.get("/apps/keycliq-staging/builds").json()] == ["failed"]
    versions = [r["description"] for r in client.get("/apps/keycliq-staging/releases").json()]
    assert not any(d.startswith("Deploy") for d in versions)
    heads = Path(sandbox.git_url("keycliq-staging")) / "refs" / "heads" / "main"
    assert not heads.exists()


def test_push_to_another_branch_builds_nothing(
    sandbox: Sandbox, sample: SampleRepo, client: httpx.Client
) -> None:
    done = push(sample.path, "heroku-staging", "main:feature")
    assert done.returncode == 0
    assert "nothing was built" in done.stderr
    assert client.get("/apps/keycliq-staging/builds").json() == []


def test_release_phase_runs_in_a_checkout_with_the_config_vars(
    sandbox: Sandbox, apps: KeycliqApps, tmp_path: Path, client: httpx.Client
) -> None:
    repo = tmp_path / "app"
    commit_files(
        repo,
        {
            "package.json": '{"name": "probe", "engines": {"node": "20.x"}}',
            "Procfile": (
                "web: npm start\nrelease: cat marker.txt; echo app=$APP_URL env=$NODE_ENV\n"
            ),
            "marker.txt": "from the pushed commit\n",
        },
        "probe",
    )
    assert push(repo, sandbox.git_url("keycliq-staging"), "main:main").returncode == 0
    rel = client.get("/apps/keycliq-staging/releases", headers={"Range": "version ..; order=desc"})
    newest = rel.json()[0]
    out = follow(client, newest["output_stream_url"])
    app_url = sandbox.web_url("keycliq-staging")
    assert out == f"from the pushed commit\napp={app_url} env=production\n"
    assert httpx.get(app_url + "/", timeout=10).status_code == 200  # now it runs: 200


def test_config_change_makes_a_release_that_runs_the_release_phase(
    sandbox: Sandbox, sample: SampleRepo, client: httpx.Client
) -> None:
    assert push(sample.path, "heroku-staging", "main:main").returncode == 0
    before = client.get("/apps/keycliq-staging/releases").json()

    resp = client.patch("/apps/keycliq-staging/config-vars", json={"FEATURE_X": "on"})

    assert resp.status_code == 200 and resp.json()["FEATURE_X"] == "on"
    after = client.get("/apps/keycliq-staging/releases").json()
    assert len(after) == len(before) + 1
    new = after[-1]
    assert new["description"] == "Set FEATURE_X config vars"
    assert "No pending migrations to apply." in follow(client, new["output_stream_url"])
    assert release_done(client, "keycliq-staging", new["version"])["current"] is True
    unset = client.patch("/apps/keycliq-staging/config-vars", json={"FEATURE_X": None})
    assert "FEATURE_X" not in unset.json()


def test_rollback_makes_a_new_release_with_the_old_slug_and_config(
    sandbox: Sandbox, sample: SampleRepo, client: httpx.Client
) -> None:
    assert push(sample.path, "heroku-staging", f"{sample.baseline}:refs/heads/main").returncode == 0
    first = client.get("/apps/keycliq-staging/releases").json()[-1]
    assert push(sample.path, "heroku-staging", "main:main").returncode == 0
    client.patch("/apps/keycliq-staging/config-vars", json={"LATER": "1"})

    resp = client.post("/apps/keycliq-staging/releases", json={"release": first["id"]})

    assert resp.status_code == 201
    back = release_done(client, "keycliq-staging", resp.json()["version"])
    assert back["description"] == f"Rollback to v{first['version']}"
    assert back["slug"] == first["slug"] and back["current"] is True
    assert "LATER" not in client.get("/apps/keycliq-staging/config-vars").json()
    older = client.get(f"/apps/keycliq-staging/releases/{first['version']}").json()
    assert older["current"] is False and older["eligible_for_rollback"] is True


def _promote(client: httpx.Client, apps: KeycliqApps) -> dict[str, object]:
    resp = client.post(
        "/pipeline-promotions",
        json={
            "pipeline": {"id": apps.pipeline.id},
            "source": {"app": {"id": apps.staging.id}},
            "targets": [{"app": {"id": apps.production.id}}],
        },
    )
    assert resp.status_code == 201, resp.text
    body: dict[str, object] = resp.json()
    return body


def test_promotion_migrates_production_and_the_target_succeeds(
    sandbox: Sandbox, sample: SampleRepo, apps: KeycliqApps, client: httpx.Client
) -> None:
    assert push(sample.path, "heroku-staging", "main:main").returncode == 0
    staging_slug = client.get("/apps/keycliq-staging/releases").json()[-1]["slug"]

    promotion = _promote(client, apps)
    target = promotion_target_released(client, str(promotion["id"]))
    assert target["app"] == {"id": apps.production.id}
    # Follow the target's release phase (as the Heroku CLI does), then read the results.
    rel = client.get(f"/apps/keycliq-production/releases/{target['release']['id']}").json()
    assert "All migrations have been successfully applied." in follow(
        client, rel["output_stream_url"]
    )
    sandbox.engine.promotions[str(promotion["id"])].done.wait()

    target = client.get(f"/pipeline-promotions/{promotion['id']}/promotion-targets").json()[0]
    assert target["status"] == "succeeded" and target["error_message"] is None
    assert client.get(f"/pipeline-promotions/{promotion['id']}").json()["status"] == "completed"
    rel = client.get(f"/apps/keycliq-production/releases/{target['release']['id']}").json()
    assert rel["slug"] == staging_slug and rel["current"] is True
    assert rel["description"].startswith("Promote keycliq-staging v")
    prod_url = sandbox.database_url("keycliq-production")
    assert prod_url != sandbox.database_url("keycliq-staging")
    assert _migrations(prod_url) == [INIT_MIGRATION, INDEX_MIGRATION]
    assert set(index_names()) <= _indexes(prod_url)


def test_promotion_target_fails_with_its_message_under_the_fault(
    sandbox: Sandbox, sample: SampleRepo, apps: KeycliqApps, client: httpx.Client
) -> None:
    assert push(sample.path, "heroku-staging", "main:main").returncode == 0
    sandbox.faults.fail_promotion("keycliq-production")

    promotion = _promote(client, apps)
    sandbox.engine.promotions[str(promotion["id"])].done.wait()

    target = client.get(f"/pipeline-promotions/{promotion['id']}/promotion-targets").json()[0]
    assert target["status"] == "failed"
    assert target["error_message"] == (
        "Couldn't promote to keycliq-production: the slug could not be copied "
        "(sandbox fault promote-fail)"
    )
    assert target["release"] is None
    assert _tables(sandbox.database_url("keycliq-production")) == set()


def test_promotion_target_fails_when_its_release_phase_fails(
    sandbox: Sandbox, sample: SampleRepo, apps: KeycliqApps, client: httpx.Client
) -> None:
    assert push(sample.path, "heroku-staging", "main:main").returncode == 0
    sandbox.faults.fail_release("keycliq-production")

    promotion = _promote(client, apps)
    sandbox.engine.promotions[str(promotion["id"])].done.wait()

    target = client.get(f"/pipeline-promotions/{promotion['id']}/promotion-targets").json()[0]
    assert target["status"] == "failed"
    assert "exited with status 1" in target["error_message"]
    rel = client.get(f"/apps/keycliq-production/releases/{target['release']['id']}").json()
    assert rel["status"] == "failed" and rel["current"] is False
