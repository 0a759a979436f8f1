"""The sample KeyCliq repository: the real app's layout (Procfile with the Prisma release
phase, Prisma migrations, package.json scripts), its config, migrations that build exactly
the catalogue's schema through the Prisma emulation, and the app-shaped repository."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from keycliq_ops.cli.sandbox_cmd import sample_answers, write_answers_file
from keycliq_ops.config import load_config
from keycliq_ops.standin.failures import StandinError
from keycliq_ops.standin.pgembed import PostgresServer
from keycliq_ops.standin.prisma.migrate import checksum
from keycliq_ops.standin.sample.app_scripts import APP_FILES
from keycliq_ops.standin.sample.repo import (
    INDEX_MIGRATION,
    INIT_MIGRATION,
    SCHEMA_SQL,
    app_schema_prisma,
    index_names,
    write_app_shaped_repo,
    write_sample_repo,
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def _shape(url: str) -> tuple[set[tuple[str, str, str, str]], set[tuple[str, str]]]:
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "select table_name, column_name, data_type, is_nullable "
            "from information_schema.columns where table_schema = 'public' "
            "and table_name <> '_prisma_migrations'"
        ).fetchall()
        indexes = conn.execute(
            "select tablename, indexdef from pg_indexes where schemaname = 'public' "
            "and tablename <> '_prisma_migrations'"
        ).fetchall()
    return set(columns), set(indexes)


def _migrate(repo: Path, url: str, command: str = "deploy") -> subprocess.CompletedProcess[str]:
    """``prisma migrate <command>`` as the release phase runs it (the emulation, offline)."""
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "keycliq_ops.standin.prisma", "migrate", command],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_repository_shape(tmp_path: Path) -> None:
    sample = write_sample_repo(tmp_path / "keycliq", answers=sample_answers())
    repo = sample.path
    assert _git(repo, "branch", "--show-current") == "main"
    assert _git(repo, "rev-parse", "HEAD") == sample.head
    assert _git(repo, "rev-parse", "HEAD~1") == sample.baseline
    assert _git(repo, "status", "--porcelain") == ""
    procfile = (repo / "Procfile").read_text().splitlines()
    assert procfile == ["web: npm start", "release: npx prisma migrate deploy"]
    baseline_files = _git(repo, "ls-tree", "-r", "--name-only", sample.baseline).splitlines()
    assert f"prisma/migrations/{INIT_MIGRATION}/migration.sql" in baseline_files
    assert "prisma/migrations/migration_lock.toml" in baseline_files
    assert not any(INDEX_MIGRATION in f for f in baseline_files)
    assert "scripts/migrate.py" not in baseline_files
    assert set(APP_FILES) <= set(baseline_files)
    assert (repo / "prisma" / "schema.prisma").read_text() == app_schema_prisma()
    baseline_schema = _git(repo, "show", f"{sample.baseline}:prisma/schema.prisma")
    assert "@@index" not in baseline_schema and "model KeyMatching" in baseline_schema
    package = json.loads((repo / "package.json").read_text())
    assert package["scripts"]["db:push"] == "prisma db push"
    assert package["scripts"]["db:migrate:deploy"] == "prisma migrate deploy"
    assert package["scripts"]["postinstall"] == "prisma generate"
    assert {"build", "start", "test"} <= set(package["scripts"])
    init_sql = (repo / "prisma" / "migrations" / INIT_MIGRATION / "migration.sql").read_text()
    assert init_sql.startswith("-- CreateEnum\nCREATE TYPE \"Role\" AS ENUM ('USER', 'ADMIN');")
    assert "-- CreateTable" in init_sql and "-- AddForeignKey" in init_sql
    assert '-- CreateIndex\nCREATE UNIQUE INDEX "User_email_key"' in init_sql
    assert "checklists:" in (repo / "keycliq-answers.yaml").read_text()
    assert "keycliq-answers.yaml" in baseline_files  # committed with the baseline
    loaded = load_config(repo / "keycliq.yaml")
    assert loaded.config.environments["staging"].remote == "heroku-staging"
    assert loaded.config.environments["production"].stage == "production"
    assert loaded.config.migrations.strategy == "release-phase"
    assert loaded.config.migrations.command is None
    tests = subprocess.run(
        loaded.config.tests.command or "", shell=True, cwd=repo, capture_output=True, check=False
    )
    assert tests.returncode == 0, tests.stderr


def test_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(StandinError, match="not empty") as refused:
        write_sample_repo(tmp_path / "busy")
    assert refused.value.kind == "usage"


@pytest.mark.db
def test_migrations_build_exactly_the_catalogue_schema(
    tmp_path: Path, pg_server: PostgresServer
) -> None:
    repo = write_sample_repo(tmp_path / "keycliq").path
    migrated = pg_server.create_database(f"kc_sample_m_{os.getpid()}")
    reference = pg_server.create_database(f"kc_sample_r_{os.getpid()}")
    try:
        first = _migrate(repo, migrated)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "Applying migration `20250114093000_init`" in first.stdout
        assert first.stdout.rstrip().endswith("All migrations have been successfully applied.")
        with psycopg.connect(reference, autocommit=True) as conn:
            conn.execute(SCHEMA_SQL.read_text())
        assert _shape(migrated) == _shape(reference)
        assert len(index_names()) == 7

        again = _migrate(repo, migrated)
        assert again.returncode == 0 and "No pending migrations to apply." in again.stdout
        status = _migrate(repo, migrated, "status")
        assert status.returncode == 0 and "Database schema is up to date!" in status.stdout
        assert "@" not in first.stdout  # no credentials in the output
    finally:
        pg_server.drop_database(f"kc_sample_m_{os.getpid()}")
        pg_server.drop_database(f"kc_sample_r_{os.getpid()}")


@pytest.mark.db
def test_a_failing_migration_is_recorded_and_blocks_the_next_deploy(
    tmp_path: Path, pg_url: str
) -> None:
    repo = write_sample_repo(tmp_path / "keycliq").path
    bad = repo / "prisma" / "migrations" / "20250401000000_broken" / "migration.sql"
    bad.parent.mkdir()
    bad.write_text("ALTER TABLE no_such_table ADD COLUMN x int;")

    failed = _migrate(repo, pg_url)
    assert failed.returncode == 1
    assert (
        "Error: P3018" in failed.stderr and "Migration name: 20250401000000_broken" in failed.stderr
    )
    assert "Database error code: 42P01" in failed.stderr
    assert 'relation "no_such_table" does not exist' in failed.stderr
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            'select migration_name, finished_at, logs from "_prisma_migrations" order by 1'
        ).fetchall()
    assert [(name, done is not None) for name, done, _ in rows] == [
        (INIT_MIGRATION, True),
        (INDEX_MIGRATION, True),
        ("20250401000000_broken", False),
    ]
    assert 'relation "no_such_table" does not exist' in (rows[2][2] or "")
    blocked = _migrate(repo, pg_url)
    assert blocked.returncode == 1 and "Error: P3009" in blocked.stderr


def test_missing_database_url_is_prismas_p1012(tmp_path: Path) -> None:
    repo = write_sample_repo(tmp_path / "keycliq").path
    done = subprocess.run(
        [sys.executable, "-m", "keycliq_ops.standin.prisma", "migrate", "deploy"],
        cwd=repo,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "Error code: P1012" in done.stderr
    assert "error: Environment variable not found: DATABASE_URL." in done.stderr
    assert "  -->  prisma/schema.prisma:7" in done.stderr


def test_the_migrations_checksums_are_the_files_sha256(tmp_path: Path) -> None:
    repo = write_sample_repo(tmp_path / "keycliq").path
    sql = (repo / "prisma" / "migrations" / INDEX_MIGRATION / "migration.sql").read_bytes()
    assert checksum(sql) == hashlib.sha256(sql).hexdigest() and len(checksum(sql)) == 64


def test_app_shaped_repository_is_the_app_at_the_runbooks_date(tmp_path: Path) -> None:
    repo = write_app_shaped_repo(tmp_path / "app")
    files = _git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    assert _git(repo, "rev-list", "--count", "HEAD") == "1"
    assert _git(repo, "branch", "--show-current") == "main"
    assert "Procfile" not in files and "keycliq.yaml" not in files
    assert not any(f.startswith("prisma/migrations") for f in files)
    package = json.loads((repo / "package.json").read_text())
    assert package["engines"]["node"] == ">=20 <23"
    assert "test" not in package["scripts"]
    assert package["scripts"]["db:push"] == "prisma db push"
    assert {"test:v3-multi", "test:v4-multi", "test:v3-individual", "test:v4-individual"} <= set(
        package["scripts"]
    )
    assert (repo / "prisma" / "schema.prisma").read_text() == app_schema_prisma()
    with pytest.raises(StandinError, match="not empty"):
        write_app_shaped_repo(repo)


def test_answers_file_answers_every_required_manual_item(tmp_path: Path) -> None:
    from keycliq_ops.checklists import AnswersPrompter, find_checklist, load_checklist
    from keycliq_ops.config.loading import SHIPPED_CHECKLISTS
    from keycliq_ops.standin.sample.seed import sample_user_id

    path = write_answers_file(tmp_path / "a.yaml")
    prompter = AnswersPrompter(path)
    for name in ("staging", "production"):
        checklist = load_checklist(find_checklist(SHIPPED_CHECKLISTS, name))
        items = [item for _, item in checklist.items()]
        prompter.preflight(checklist, items, None)  # raises when an item is unanswered
    text = path.read_text()
    assert f'"{sample_user_id()}"' in text
    assert "by:" in text and "reason:" in text
