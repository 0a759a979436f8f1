"""The sample KeyCliq repository: its shape, its config, and a release command whose
migrations build exactly the catalogue's schema (tables, columns, seven indexes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from keycliq_ops.cli.sandbox_cmd import sample_answers, write_answers_file
from keycliq_ops.config import load_config
from keycliq_ops.standin.failures import StandinError
from keycliq_ops.standin.pgembed import PostgresServer, client_bin_dir
from keycliq_ops.standin.sample.repo import (
    INDEX_MIGRATION,
    INIT_MIGRATION,
    SCHEMA_SQL,
    index_names,
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
    pg_bin = client_bin_dir()
    path = os.pathsep.join([str(pg_bin), os.environ["PATH"]]) if pg_bin else os.environ["PATH"]
    env = {"PATH": path, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "scripts/migrate.py", command],
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
    assert procfile == ["web: npm start", "release: python scripts/migrate.py deploy"]
    baseline_files = _git(repo, "ls-tree", "-r", "--name-only", sample.baseline).splitlines()
    assert f"prisma/migrations/{INIT_MIGRATION}/migration.sql" in baseline_files
    assert not any(INDEX_MIGRATION in f for f in baseline_files)
    assert "checklists:" in (repo / "keycliq-answers.yaml").read_text()
    assert "keycliq-answers.yaml" in baseline_files  # committed with the baseline
    loaded = load_config(repo / "keycliq.yaml")
    assert loaded.config.environments["staging"].remote == "heroku-staging"
    assert loaded.config.environments["production"].stage == "production"
    assert loaded.config.migrations.command == "python scripts/migrate.py deploy"
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
        assert first.returncode == 0, first.stdout
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
        "Error: P3018" in failed.stdout and "Migration name: 20250401000000_broken" in failed.stdout
    )
    assert "Database error code: 42P01" in failed.stdout
    assert 'relation "no_such_table" does not exist' in failed.stdout
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
    assert blocked.returncode == 1 and "Error: P3009" in blocked.stdout


def test_missing_database_url_is_one_clear_line(tmp_path: Path) -> None:
    repo = write_sample_repo(tmp_path / "keycliq").path
    done = subprocess.run(
        [sys.executable, "scripts/migrate.py", "deploy"],
        cwd=repo,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "Error: Environment variable not found: DATABASE_URL."


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
