"""A Heroku Postgres backup before the schema changes, end to end against the stand-in:
``keycliq promote`` with a pending migration captures a real ``pg_dump`` of production
first; restoring it gives the schema production had before the migration; a failed
capture stops the promotion before the promotion request (exit 3, nothing changed)."""

from __future__ import annotations

import subprocess
from typing import Any

import psycopg
import pytest

from keycliq_ops.standin.pgbackups import store_of
from keycliq_ops.standin.pgembed import PostgresServer, pg_tool
from tests.release.test_promote_e2e import (
    DEPLOY_UNCHECKED,
    INDEX_MIGRATION,
    PRODUCTION,
    add_user,
    current,
    runs,
    step,
    unchecked,
)
from tests.world import World

pytestmark = [pytest.mark.db, pytest.mark.e2e]

SCHEMA_SQL = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'index', indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint', conrelid::regclass::text || ' ' || conname || ' ' || contype::text
  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
 WHERE n.nspname = 'public'
"""


def schema_of(url: str) -> set[tuple[str, str]]:
    """The public schema's columns, indexes and constraints, as comparable text."""
    with psycopg.connect(url) as conn:
        return {(str(k), str(v)) for k, v in conn.execute(SCHEMA_SQL).fetchall()}


def applied_migrations(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL"
        ).fetchall()
    return {str(r[0]) for r in rows}


def promotions(world: World) -> int:
    with world.sandbox.engine.lock:
        return len(world.sandbox.engine.promotions)


def test_promotion_backs_up_production_before_its_migration(
    world: World, cli: Any, pg_server: PostgresServer
) -> None:
    prod_url = world.database_url(PRODUCTION)
    before_schema = schema_of(prod_url)
    assert INDEX_MIGRATION not in applied_migrations(prod_url)
    user = add_user(world)
    deployed = cli(*DEPLOY_UNCHECKED)
    assert deployed.code == 0, deployed.output
    assert step(runs(world, "deploy")[-1], "backup")["status"] == "skipped"  # staging: off

    result = cli(*unchecked(user, "--override", "backup e2e"))
    assert result.code == 0, result.output
    assert "Backup" in result.stdout
    end = runs(world, "promote")[-1]
    names = [s["name"] for s in end["steps"]]
    assert names.index("backup") == names.index("gate") + 1 == names.index("promote") - 1
    backup = step(end, "backup")
    assert backup["status"] == "succeeded", backup
    assert backup["data"]["name"] == "b001"
    assert backup["data"]["changes"] == [INDEX_MIGRATION]
    assert backup["data"]["size_bytes"] > 0
    assert backup["data"]["name"] in backup["detail"]
    # The migration ran after the backup: production's schema changed.
    assert INDEX_MIGRATION in applied_migrations(prod_url)
    after_schema = schema_of(prod_url)
    assert after_schema != before_schema

    dump = store_of(world.sandbox.engine).dump_path(backup["data"]["uuid"])
    assert dump.stat().st_size == backup["data"]["size_bytes"]
    fresh = pg_server.create_database("backup_e2e_restored")
    try:
        restored = subprocess.run(
            [
                str(pg_tool("pg_restore")),
                "--no-owner",
                "--no-privileges",
                "--dbname",
                fresh,
                str(dump),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert restored.returncode == 0, restored.stderr
        assert schema_of(fresh) == before_schema
        assert INDEX_MIGRATION not in applied_migrations(fresh)
    finally:
        pg_server.drop_database("backup_e2e_restored")


def test_failed_capture_stops_the_promotion_before_the_request(world: World, cli: Any) -> None:
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    world.sandbox.faults.fail_backup(PRODUCTION, message="pg_dump: error: connection lost")
    before, made = current(world), promotions(world)
    before_schema = schema_of(world.database_url(PRODUCTION))

    result = cli(*unchecked(user, "--override", "backup fault e2e"))
    assert result.code == 3, result.output
    assert "backup b001 of keycliq-production failed" in result.output
    assert "pg_dump: error: connection lost" in result.output
    assert current(world) == before  # production release unchanged
    assert promotions(world) == made  # no promotion request was sent
    assert schema_of(world.database_url(PRODUCTION)) == before_schema
    end = runs(world, "promote")[-1]
    assert end["outcome"] == "failed" and end["exit_code"] == 3
    assert step(end, "backup")["status"] == "failed"
    assert step(end, "promote")["status"] == "not-run"


def test_no_backup_is_recorded_with_its_reason(world: World, cli: Any) -> None:
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    result = cli(*unchecked(user, "--override", "e2e", "--no-backup", "b007 taken by hand"))
    assert result.code == 0, result.output
    end = runs(world, "promote")[-1]
    backup = step(end, "backup")
    assert backup["status"] == "skipped"
    assert "b007 taken by hand" in backup["detail"]
    assert end["details"]["backup"] == {"skipped": True, "reason": "b007 taken by hand"}
    assert store_of(world.sandbox.engine).transfers(PRODUCTION) == []
    assert INDEX_MIGRATION in applied_migrations(world.database_url(PRODUCTION))
