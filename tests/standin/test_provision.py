"""What ``sandbox up`` sets up (in-process): remotes, the baseline on both apps with
migrated databases, ``main`` one commit ahead, and seeded data on request."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from keycliq_ops.standin import Sandbox
from keycliq_ops.standin.provision import provision
from keycliq_ops.standin.sample.repo import INIT_MIGRATION

pytestmark = [pytest.mark.db, pytest.mark.e2e]


def _one(url: str, sql: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_provision_deploys_the_baseline_and_seeds(sandbox: Sandbox, tmp_path: Path) -> None:
    notes: list[str] = []
    done = provision(sandbox, tmp_path / "keycliq", seed_scale=1, progress=notes.append)

    repo = done.sample.path
    remotes = subprocess.run(
        ["git", "remote"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(remotes) == ["heroku-production", "heroku-staging", "origin"]
    upstream = subprocess.run(
        ["git", "rev-parse", "origin/main"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert upstream.stdout.strip() == done.sample.head
    assert done.deployed == done.sample.baseline
    for app in ("keycliq-staging", "keycliq-production"):
        current = sandbox.engine.app(app).current
        assert current is not None and current.slug is not None
        assert current.slug.commit == done.sample.baseline
        url = sandbox.database_url(app)
        assert _one(url, "select string_agg(migration_name, ',') from \"_prisma_migrations\"") == (
            INIT_MIGRATION
        )
        assert int(str(_one(url, 'select count(*) from "User"'))) > 0
    assert any("seeding" in n for n in notes)


def test_provision_without_deploy_leaves_apps_without_code(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    done = provision(sandbox, tmp_path / "keycliq", deploy="none")
    assert done.deployed is None
    assert sandbox.engine.app("keycliq-staging").builds == []
    url = sandbox.database_url("keycliq-staging")
    tables = _one(url, "select count(*) from information_schema.tables where table_schema='public'")
    assert tables == 0
