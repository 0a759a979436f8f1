"""Migrations end to end on the stand-in: refused early when the commit cannot honour the
strategy, verified from ``_prisma_migrations`` afterwards, failures named."""

from __future__ import annotations

import subprocess

import psycopg

from tests.world import World

NO_CHECKLIST = ("deploy", "staging", "--yes", "--skip", "checklist", "--reason", "e2e case")


def git(world: World, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=world.repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit(world: World, message: str) -> str:
    git(world, "add", "-A")
    git(world, "commit", "-q", "-m", message)
    return git(world, "rev-parse", "HEAD")


def staging_main(world: World) -> str:
    return git(world, "ls-remote", "heroku-staging", "refs/heads/main").split()[0]


def steps(world: World) -> dict[str, dict[str, object]]:
    record = world.last_record()
    assert record["outcome"] != "running"
    return {s["name"]: s for s in record["steps"]}  # type: ignore[union-attr, index]


def migration_rows(url: str) -> dict[str, tuple[str, bool]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            'SELECT migration_name, checksum, finished_at IS NOT NULL FROM "_prisma_migrations"'
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_a_deploy_verifies_each_migration_in_the_database(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*NO_CHECKLIST, "--json")
    assert result.code == 0, result.output
    migrations = steps(world)["migrations"]
    assert migrations["status"] == "succeeded"
    verified = migrations["data"]["verified"]  # type: ignore[index]
    assert verified["pending"] == [] and verified["modified"] == []  # type: ignore[index]
    assert len(verified["applied_now"]) == 1  # type: ignore[index, arg-type]
    assert len(verified["applied_before"]) == 1  # type: ignore[index, arg-type]
    assert set(migration_rows(world.database_url())) == set(
        verified["applied_now"] + verified["applied_before"]  # type: ignore[index, operator]
    )


def test_release_phase_without_a_release_line_is_refused_before_the_push(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    before = staging_main(world)
    (world.repo / "Procfile").write_text("web: npm start\n")
    commit(world, "No release phase")
    result = cli(*NO_CHECKLIST)
    assert result.code == 2, result.output
    assert "migrations.strategy is release-phase" in result.output
    assert "has no `release:` line" in result.output
    assert "keycliq.yaml:" in result.output  # where to change it
    assert "Traceback" not in result.output
    assert staging_main(world) == before  # nothing pushed
    assert steps(world)["push"]["status"] == "not-run"


def test_a_migration_edited_after_it_was_applied_fails_naming_it(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    applied = migration_rows(world.database_url())
    name = sorted(applied)[0]
    path = world.repo / "prisma" / "migrations" / name / "migration.sql"
    path.write_text(path.read_text() + "\n-- edited after it was applied\n")
    commit(world, "Edit an applied migration")
    result = cli(*NO_CHECKLIST)
    assert result.code == 1, result.output
    assert f"modified after it was applied (checksum differs): {name}" in result.output
    got = steps(world)
    assert got["release"]["status"] == "succeeded"  # Prisma itself does not object
    assert got["migrations"]["status"] == "failed"
    assert got["dataclips"]["status"] == "not-run"


def test_a_failing_migration_is_named_with_prisma_s_reading(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    folder = world.repo / "prisma" / "migrations" / "20991231000000_broken"
    folder.mkdir(parents=True)
    (folder / "migration.sql").write_text(
        '-- AlterTable\nALTER TABLE "keys" ADD COLUMN "label" TEXT NOT NULL;\nSELEC 1;\n'
    )
    commit(world, "A migration that cannot apply")
    result = cli(*NO_CHECKLIST, "--accept-migration-risk", "e2e: Prisma must be the one to fail it")
    assert result.code == 1, result.output
    assert "migration 20991231000000_broken failed to apply (Prisma P3018)" in result.output
    assert "prisma migrate resolve --rolled-back 20991231000000_broken" in result.output
    got = steps(world)
    assert got["release"]["status"] == "failed"
    assert got["release"]["data"] == {"release_phase_failure": "migration-failed"}
    rows = migration_rows(world.database_url())
    assert rows["20991231000000_broken"][1] is False  # recorded as failed, as Prisma does


def test_a_missing_test_script_stops_at_preflight(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    config = world.repo / "keycliq.yaml"
    text = config.read_text()
    start = text.index("tests:")
    end = text.index("\n", text.index("command:", start))
    config.write_text(text[:start] + "tests:\n  command: npm run test:unit" + text[end:])
    commit(world, "npm test")
    result = cli(*NO_CHECKLIST)
    assert result.code == 2, result.output
    assert "tests.command: `npm run test:unit` runs the npm script 'test:unit'" in result.output
    assert "scripts found:" in result.output
    assert steps(world)["tests"]["status"] == "not-run"
