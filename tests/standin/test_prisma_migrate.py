"""``prisma migrate deploy`` / ``status`` of the emulation against a real PostgreSQL: the
``_prisma_migrations`` table, checksums, Prisma's texts and exit statuses for each case."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from keycliq_ops.standin.sample.repo import (
    INDEX_MIGRATION,
    INIT_MIGRATION,
    SCHEMA_SQL,
    app_schema_prisma,
    write_sample_repo,
)

from .prisma_helpers import closed_port, prisma, write_project

pytestmark = pytest.mark.db

BROKEN = "20250401000000_broken"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_sample_repo(tmp_path / "keycliq").path


def _rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT migration_name, checksum, finished_at IS NOT NULL, logs, "
            'rolled_back_at, applied_steps_count FROM "_prisma_migrations" ORDER BY started_at, 1'
        ).fetchall()


def _sha(repo: Path, name: str) -> str:
    sql = (repo / "prisma" / "migrations" / name / "migration.sql").read_bytes()
    return hashlib.sha256(sql).hexdigest()


def test_deploy_applies_every_migration_and_records_it_as_prisma_does(
    repo: Path, pg_url: str
) -> None:
    ran = prisma(repo, pg_url, "migrate", "deploy")
    assert ran.code == 0, ran.text
    lines = ran.out.splitlines()
    database = urlsplit(pg_url).path.lstrip("/")
    assert lines[0] == "Prisma schema loaded from prisma/schema.prisma"
    assert lines[1].startswith(
        f'Datasource "db": PostgreSQL database "{database}", schema "public" at "'
    )
    assert lines[2:5] == ["", "2 migrations found in prisma/migrations", ""]
    assert lines[5:7] == [
        f"Applying migration `{INIT_MIGRATION}`",
        f"Applying migration `{INDEX_MIGRATION}`",
    ]
    assert lines[7:] == [
        "",
        "The following migration(s) have been applied:",
        "",
        "migrations/",
        f"  └─ {INIT_MIGRATION}/",
        "    └─ migration.sql",
        f"  └─ {INDEX_MIGRATION}/",
        "    └─ migration.sql",
        "",
        "All migrations have been successfully applied.",
    ]
    assert ran.err == ""
    assert _rows(pg_url) == [
        (INIT_MIGRATION, _sha(repo, INIT_MIGRATION), True, None, None, 1),
        (INDEX_MIGRATION, _sha(repo, INDEX_MIGRATION), True, None, None, 1),
    ]
    with psycopg.connect(pg_url) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type, character_maximum_length, is_nullable, "
            "column_default FROM information_schema.columns "
            "WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position"
        ).fetchall()
    assert columns == [
        ("id", "character varying", 36, "NO", None),
        ("checksum", "character varying", 64, "NO", None),
        ("finished_at", "timestamp with time zone", None, "YES", None),
        ("migration_name", "character varying", 255, "NO", None),
        ("logs", "text", None, "YES", None),
        ("rolled_back_at", "timestamp with time zone", None, "YES", None),
        ("started_at", "timestamp with time zone", None, "NO", "now()"),
        ("applied_steps_count", "integer", None, "NO", "0"),
    ]


def test_nothing_pending_says_so_and_status_is_up_to_date(repo: Path, pg_url: str) -> None:
    assert prisma(repo, pg_url, "migrate", "deploy").code == 0
    again = prisma(repo, pg_url, "migrate", "deploy")
    assert again.code == 0
    assert again.out.splitlines()[-1] == "No pending migrations to apply."
    assert "Applying migration" not in again.out
    status = prisma(repo, pg_url, "migrate", "status")
    assert status.code == 0
    assert status.out.splitlines()[-3:] == [
        "2 migrations found in prisma/migrations",
        "",
        "Database schema is up to date!",
    ]


def test_status_lists_pending_migrations_and_exits_1(repo: Path, pg_url: str) -> None:
    status = prisma(repo, pg_url, "migrate", "status", env={"npm_command": "exec"})
    assert status.code == 1
    assert status.out.splitlines()[-6:] == [
        "Following migrations have not yet been applied:",
        INIT_MIGRATION,
        INDEX_MIGRATION,
        "",
        "To apply migrations in development run npx prisma migrate dev.",
        "To apply migrations in production run npx prisma migrate deploy.",
    ]


def test_a_failing_migration_is_p3018_and_its_row_is_left_unfinished(
    repo: Path, pg_url: str
) -> None:
    assert prisma(repo, pg_url, "migrate", "deploy").code == 0
    bad = repo / "prisma" / "migrations" / BROKEN / "migration.sql"
    bad.parent.mkdir()
    bad.write_text('ALTER TABLE "keys" ADD COLUMN "label" TEXT;\nALTER TABLE nope ADD x int;\n')

    failed = prisma(repo, pg_url, "migrate", "deploy")
    assert failed.code == 1
    assert f"Applying migration `{BROKEN}`" in failed.out
    assert failed.err.splitlines()[:9] == [
        "Error: P3018",
        "",
        "A migration failed to apply. New migrations cannot be applied before the error is "
        "recovered from. Read more about how to resolve migration issues in a production "
        "database: https://pris.ly/d/migrate-resolve",
        "",
        f"Migration name: {BROKEN}",
        "",
        "Database error code: 42P01",
        "",
        "Database error:",
    ]
    assert 'ERROR: relation "nope" does not exist' in failed.err
    name, sha, finished, logs, rolled_back, steps = _rows(pg_url)[-1]
    assert (name, sha, finished, rolled_back, steps) == (BROKEN, _sha(repo, BROKEN), False, None, 0)
    assert isinstance(logs, str) and f"Migration name: {BROKEN}" in logs
    assert "Database error code: 42P01" in logs
    with psycopg.connect(pg_url) as conn:  # the script is atomic: its first statement is undone
        label = conn.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'keys' AND column_name = 'label'"
        ).fetchone()
    assert label == (0,)


def test_an_earlier_failed_migration_blocks_the_next_deploy_with_p3009(
    repo: Path, pg_url: str
) -> None:
    bad = repo / "prisma" / "migrations" / BROKEN / "migration.sql"
    bad.parent.mkdir(parents=True)
    bad.write_text("SELECT 1/0;\n")
    first = prisma(repo, pg_url, "migrate", "deploy")
    assert first.code == 1 and "Database error code: 22012" in first.err
    bad.write_text("SELECT 1;\n")  # fixed, but the history still holds the failure

    blocked = prisma(repo, pg_url, "migrate", "deploy")
    assert blocked.code == 1
    lines = blocked.err.splitlines()
    assert lines[:2] == ["Error: P3009", ""]
    assert lines[2].startswith("migrate found failed migrations in the target database, new ")
    assert lines[3].startswith(f"The `{BROKEN}` migration started at ")
    assert lines[3].endswith(" UTC failed")
    assert "Applying migration" not in blocked.out

    status = prisma(repo, pg_url, "migrate", "status")
    assert status.code == 1
    assert status.err.startswith(f"Following migration have failed:\n{BROKEN}\n")
    assert f'prisma migrate resolve --rolled-back "{BROKEN}"' in status.err

    resolved = prisma(repo, pg_url, "migrate", "resolve", "--rolled-back", BROKEN)
    assert resolved.code == 0 and f"Migration {BROKEN} marked as rolled back." in resolved.out
    retried = prisma(repo, pg_url, "migrate", "deploy")
    assert retried.code == 0 and f"Applying migration `{BROKEN}`" in retried.out


def test_a_migration_edited_after_it_was_applied_shows_in_the_checksums(
    repo: Path, pg_url: str
) -> None:
    assert prisma(repo, pg_url, "migrate", "deploy").code == 0
    index_file = repo / "prisma" / "migrations" / INDEX_MIGRATION / "migration.sql"
    recorded = {row[0]: row[1] for row in _rows(pg_url)}
    assert recorded[INDEX_MIGRATION] == _sha(repo, INDEX_MIGRATION)
    index_file.write_text(index_file.read_text() + "\n-- edited after it was applied\n")

    again = prisma(repo, pg_url, "migrate", "deploy")  # deploy, as Prisma, does not mind
    assert again.code == 0 and "No pending migrations to apply." in again.out
    recorded = {row[0]: row[1] for row in _rows(pg_url)}
    assert recorded[INDEX_MIGRATION] != _sha(repo, INDEX_MIGRATION)
    assert recorded[INIT_MIGRATION] == _sha(repo, INIT_MIGRATION)


def test_an_unreachable_database_is_p1001(repo: Path) -> None:
    port = closed_port()
    ran = prisma(repo, f"postgresql://app:secret@127.0.0.1:{port}/keycliq", "migrate", "deploy")
    assert ran.code == 1
    assert (
        ran.err.splitlines()[0]
        == f"Error: P1001: Can't reach database server at `127.0.0.1:{port}`"
    )
    assert "secret" not in ran.text
    assert (
        f'Datasource "db": PostgreSQL database "keycliq", schema "public" at "127.0.0.1:{port}"'
        in ran.out
    )


def test_an_unset_database_url_is_p1012_naming_the_schema_line(repo: Path) -> None:
    ran = prisma(repo, None, "migrate", "deploy")
    assert ran.code == 1
    assert ran.err.splitlines()[:4] == [
        "Error: Prisma schema validation - (get-config wasm)",
        "Error code: P1012",
        "error: Environment variable not found: DATABASE_URL.",
        "  -->  prisma/schema.prisma:7",
    ]
    assert ' 7 |   url      = env("DATABASE_URL")' in ran.err


def test_no_migrations_folder_is_nothing_to_apply(tmp_path: Path, pg_url: str) -> None:
    project = write_project(tmp_path / "app", app_schema_prisma())
    ran = prisma(project, pg_url, "migrate", "deploy")
    assert ran.code == 0
    assert "No migration found in prisma/migrations" in ran.out.splitlines()
    assert ran.out.splitlines()[-1] == "No pending migrations to apply."
    status = prisma(project, pg_url, "migrate", "status")
    assert status.code == 0 and "No migration found in prisma/migrations" in status.out
    assert status.out.splitlines()[-1] == "Database schema is up to date!"


def test_status_on_a_database_prisma_migrate_never_managed(tmp_path: Path, pg_url: str) -> None:
    project = write_project(tmp_path / "app", app_schema_prisma())
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text())  # as `db push` leaves it: no history table
    status = prisma(project, pg_url, "migrate", "status")
    assert status.code == 1
    assert "No migration found in prisma/migrations" in status.out
    assert status.err.startswith("The current database is not managed by Prisma Migrate.")


def test_deploy_on_a_non_empty_database_without_history_is_p3005(repo: Path, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text())
    ran = prisma(repo, pg_url, "migrate", "deploy")
    assert ran.code == 1
    assert ran.err.startswith("Error: P3005\n\nThe database schema is not empty.")


def test_status_names_migrations_the_repository_does_not_have(repo: Path, pg_url: str) -> None:
    assert prisma(repo, pg_url, "migrate", "deploy").code == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, '
            "applied_steps_count) VALUES ('x', 'y', '20250505000000_elsewhere', now(), 1)"
        )
    status = prisma(repo, pg_url, "migrate", "status")
    assert status.code == 1
    assert "The last common migration is: 20250302120000_add_query_indexes" in status.err
    assert "20250505000000_elsewhere" in status.err


def test_unknown_commands_exit_1_with_prismas_usage(repo: Path) -> None:
    ran = prisma(repo, None, "migrate", "frobnicate")
    assert ran.code == 1 and '! Unknown command "frobnicate"' in ran.err
    ran = prisma(repo, None, "frobnicate")
    assert ran.code == 1 and "$ prisma [command]" in ran.err
    generated = prisma(repo, None, "generate")
    assert generated.code == 0 and "✔ Generated Prisma Client" in generated.out
