"""Acceptance: the stand-in runs the sample's Prisma layout as Heroku would, offline. The
release phase runs ``npx prisma migrate deploy`` (the emulation), a one-off ``npm run
db:push`` reaches ``prisma db push``, a failing migration fails the release with P3018,
and with every proxy variable and npm's registry pointing at a closed loopback port in
the stand-in's own environment and in the app's config, the release still succeeds."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
import pytest

from keycliq_ops.standin import Sandbox
from keycliq_ops.standin.pgembed import PostgresServer
from keycliq_ops.standin.sample.repo import (
    INDEX_MIGRATION,
    INIT_MIGRATION,
    SampleRepo,
    add_remote,
    write_sample_repo,
)
from keycliq_ops.standin.sandbox import STAGING

from .helpers import commit_files, push, release_done
from .prisma_helpers import closed_port
from .rendezvous_helpers import read_rendezvous

pytestmark = [pytest.mark.db, pytest.mark.e2e]


def _attached(client: httpx.Client, command: str) -> tuple[list[str], int]:
    """Run ``command`` in an attached one-off dyno: (its output lines, its exit status)."""
    dyno = client.post(f"/apps/{STAGING}/dynos", json={"command": command, "attach": True})
    assert dyno.status_code == 201, dyno.text
    lines = read_rendezvous(dyno.json()["attach_url"]).decode().split("\r\n")
    marker = "\uffff heroku-command-exit-status: "
    status = next(int(ln[len(marker) :]) for ln in lines if ln.startswith(marker))
    return lines, status


def _release_output(client: httpx.Client, version: object) -> tuple[dict[str, object], str]:
    release = release_done(client, STAGING, str(version))
    stream = client.get(f"/apps/{STAGING}/releases/{version}").json()["output_stream_url"]
    with client.stream("GET", stream) as resp:
        text = "".join(resp.iter_text())
    return release, text


def _migrations(url: str) -> list[tuple[str, bool]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            'SELECT migration_name, finished_at IS NOT NULL FROM "_prisma_migrations" '
            "ORDER BY started_at, migration_name"
        ).fetchall()
    return [(r[0], bool(r[1])) for r in rows]


def test_the_release_phase_runs_prisma_and_one_offs_run_npm_scripts(
    sandbox: Sandbox, sample: SampleRepo, client: httpx.Client
) -> None:
    done = push(sample.path, "heroku-staging", "main:main")
    assert done.returncode == 0, done.stderr
    assert "remote: Prisma schema loaded from prisma/schema.prisma" in done.stderr
    assert f"remote: Applying migration `{INDEX_MIGRATION}`" in done.stderr
    builds = client.get(f"/apps/{STAGING}/builds").json()
    release, output = _release_output(client, builds[0]["release"]["id"])
    assert release["status"] == "succeeded"
    assert "All migrations have been successfully applied." in output
    url = sandbox.database_url(STAGING)
    assert _migrations(url) == [(INIT_MIGRATION, True), (INDEX_MIGRATION, True)]
    log = client.post(f"/apps/{STAGING}/log-sessions", json={"lines": 200})
    with client.stream("GET", log.json()["logplex_url"]) as resp:
        logged = "".join(resp.iter_text())
    assert "Starting process with command `npx prisma migrate deploy`" in logged

    lines, status = _attached(client, "npm run db:push")
    assert status == 0, lines
    assert "> prisma db push" in lines
    assert "The database is already in sync with the Prisma schema." in lines

    lines, status = _attached(client, "npx prisma migrate status")
    assert status == 0 and "Database schema is up to date!" in lines

    lines, status = _attached(client, "npm test")
    assert status == 0, lines
    lines, status = _attached(client, "npx some-tool")
    assert status == 1 and "npm error code ENOTCACHED" in lines


def test_a_failing_migration_fails_the_release_with_p3018(
    sandbox: Sandbox, sample: SampleRepo, client: httpx.Client
) -> None:
    assert push(sample.path, "heroku-staging", "main:main").returncode == 0
    name = "20250310090000_require_key_label"
    commit_files(
        sample.path,
        {
            f"prisma/migrations/{name}/migration.sql": "SELECT 1;\n"
            'ALTER TABLE "keys" ADD COLUMN "label" TEXT NOT NULL DEFAULT NULL;\n'
        },
        "Require a label on keys",
    )
    url = sandbox.database_url(STAGING)
    with psycopg.connect(url, autocommit=True) as conn:  # keys has rows
        conn.execute(
            'INSERT INTO "User" (id, email, password, "updatedAt") VALUES '
            "('u1', 'a@example.com', 'x', now());"
            'INSERT INTO keys (id, "userId", name, "updatedAt") VALUES '
            "('k1', 'u1', 'door', now())"
        )
    pushed = push(sample.path, "heroku-staging", "main:main")
    releases = client.get(f"/apps/{STAGING}/releases").json()
    release, output = _release_output(client, releases[-1]["version"])
    assert release["status"] == "failed", output
    assert "Error: P3018" in output and f"Migration name: {name}" in output
    assert "Database error code: 23502" in output
    assert "remote: Error: P3018" in pushed.stderr
    assert _migrations(url)[-1] == (name, False)


def test_a_release_succeeds_with_every_proxy_and_the_registry_pointing_nowhere(
    tmp_path: Path, pg_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = f"http://127.0.0.1:{closed_port()}"
    network = {
        "HTTP_PROXY": nowhere,
        "HTTPS_PROXY": nowhere,
        "http_proxy": nowhere,
        "https_proxy": nowhere,
        "ALL_PROXY": nowhere,
        "npm_config_proxy": nowhere,
        "npm_config_https_proxy": nowhere,
        "npm_config_registry": f"{nowhere}/",
    }
    for name, value in network.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NO_PROXY", "")  # not even loopback is exempt: nothing may use a proxy
    monkeypatch.setenv("no_proxy", "")
    with Sandbox(tmp_path / "sandbox", postgres=pg_server) as sb:
        sb.setup_keycliq()
        sample = write_sample_repo(tmp_path / "keycliq")
        add_remote(sample.path, "heroku-staging", sb.git_url(STAGING))
        with httpx.Client(
            base_url=sb.url, headers=sb.headers(), timeout=60, trust_env=False
        ) as client:
            patched = client.patch(f"/apps/{STAGING}/config-vars", json=network)
            assert patched.status_code == 200, patched.text
            done = push(sample.path, "heroku-staging", "main:main")
            assert done.returncode == 0, done.stderr
            releases = client.get(f"/apps/{STAGING}/releases").json()
            release, output = _release_output(client, releases[-1]["version"])
            assert release["status"] == "succeeded", output
            assert "All migrations have been successfully applied." in output
            assert "npm error" not in output and "ENOTCACHED" not in output
            lines, status = _attached(client, "env")
            assert status == 0
            leaked = [ln for ln in lines if "proxy" in ln.lower() or "registry" in ln.lower()]
            assert leaked == []
        assert _migrations(sb.database_url(STAGING)) == [
            (INIT_MIGRATION, True),
            (INDEX_MIGRATION, True),
        ]
