"""squawk's lint of the pending migrations, in a deploy's preflight, end to end on the
stand-in: a risky migration stops the deploy before the push (exit 1), an accepted risk is
recorded with its reason and who accepted it, and check F runs after a schema change."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from tests.world import World

NO_CHECKLIST = ("deploy", "staging", "--yes", "--skip", "checklist", "--reason", "e2e case")
DROP = "20991231000000_drop_key_notes"
DROP_SQL = 'ALTER TABLE "keys" DROP COLUMN "notes";\n'
# As Prisma writes it (the sample's own tests want the `-- ` header): the finding is on line 2.
DROP_PRISMA_SQL = '-- AlterTable\nALTER TABLE "keys" DROP COLUMN "notes";\n'
REQUIRED = "20991231000001_key_label"
REQUIRED_SQL = '-- AlterTable\nALTER TABLE "keys" ADD COLUMN "label" TEXT NOT NULL;\n'


def staging_main(world: World) -> str:
    return world.git("ls-remote", "heroku-staging", "refs/heads/main").split()[0]


def steps(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in record["steps"]}


def key_rows(world: World) -> int:
    with psycopg.connect(world.database_url()) as conn:
        row = conn.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'keys'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def columns(world: World, table: str) -> set[str]:
    with psycopg.connect(world.database_url()) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
        ).fetchall()
    return {r[0] for r in rows}


def test_a_dropped_column_stops_the_deploy_before_the_push(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    before = staging_main(world)
    world.commit_migration(DROP, DROP_SQL)
    rows = key_rows(world)
    assert rows > 0  # the seeded table has rows, and the estimate knows it
    result = cli(*NO_CHECKLIST)
    assert result.code == 1, result.output
    where = f"prisma/migrations/{DROP}/migration.sql:1 ban-drop-column: "
    assert where in result.output
    assert f"(on keys, ≈{rows} rows)" in result.output
    assert "--accept-migration-risk" in result.output  # the way on, in the hint
    assert staging_main(world) == before  # nothing pushed
    record = world.last_record()
    got = steps(record)
    assert got["preflight"]["status"] == "failed"
    assert got["push"]["status"] == "not-run"
    assert "notes" in columns(world, "keys")


def test_an_accepted_risk_deploys_and_is_recorded(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    world.commit_migration(DROP, DROP_PRISMA_SQL)
    reason = "column unused since v40"
    result = cli(*NO_CHECKLIST, "--accept-migration-risk", reason, "--json")
    assert result.code == 0, result.output
    assert "notes" not in columns(world, "keys")  # applied
    record = world.last_record()
    assert record["outcome"] == "succeeded"
    lint = steps(record)["preflight"]["data"]["migration_lint"]
    assert lint["status"] == "linted"
    assert DROP in lint["pending"]
    errors = [f for f in lint["findings"] if f["level"] == "error"]
    assert [(f["rule"], f["table"], f["line"]) for f in errors] == [("ban-drop-column", "keys", 2)]
    assert lint["accepted"]["reason"] == reason
    assert "Heroku" in lint["accepted"]["by"]  # who: the git user and the Heroku account
    details = record["details"]
    assert details["accept_migration_risk"] == reason
    assert any("ban-drop-column" in w and reason in w for w in details["warnings"])
    report = (world.repo / json.loads(result.stdout.splitlines()[-1])["report"]).read_text()
    assert reason in report
    assert "ban-drop-column" in report
    assert "migration risk accepted by" in report


def test_a_required_column_on_a_table_with_rows_stops_the_deploy(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    before = staging_main(world)
    world.commit_migration(REQUIRED, REQUIRED_SQL)
    result = cli(*NO_CHECKLIST)
    assert result.code == 1, result.output
    assert f"prisma/migrations/{REQUIRED}/migration.sql:2 adding-required-field: " in result.output
    assert "(on keys, ≈" in result.output
    assert staging_main(world) == before


def test_migrations_lint_on_its_own(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    world.commit_migration(DROP, DROP_SQL)
    result = cli("migrations", "lint", "staging", "--json")
    assert result.code == 1, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "linted"
    # the sample's index migration and ours are both pending on staging
    assert data["pending"] == ["20250302120000_add_query_indexes", DROP]
    rules = {(f["migration"], f["rule"], f["level"]) for f in data["findings"]}
    assert (DROP, "ban-drop-column", "error") in rules
    assert ("20250302120000_add_query_indexes", "require-concurrent-index-creation", "warning") in (
        rules
    )
    assert not any(r == "prefer-robust-stmts" for _, r, _ in rules)  # off by default
    text = cli("migrations", "lint", "staging")
    assert text.code == 1
    assert text.output.index("20250302120000_add_query_indexes") < text.output.index(DROP)
    assert "help: Use `concurrently` to avoid blocking writes." in text.output
