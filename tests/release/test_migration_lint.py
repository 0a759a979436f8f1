"""The lint of pending migrations against a real PostgreSQL and the real squawk: what is
pending, which table a finding is on and its estimated rows, the levels of
``migrations.lint.rules``, and the apps with nothing to lint."""

from __future__ import annotations

import psycopg
import pytest
import yaml

from keycliq_ops.adapters import squawk
from keycliq_ops.base.errors import CommandError
from keycliq_ops.config.app_repo import AppRepo
from keycliq_ops.config.settings import Migrations
from keycliq_ops.release.migration_check import prisma_checksum
from keycliq_ops.release.migration_lint import lint_pending, nothing_to_lint
from keycliq_ops.release.promote_preview import (
    dependency_changes,
    direct_specs,
    locked_versions,
)

APPLIED = "20250101000000_init"
INIT_SQL = '-- CreateTable\nCREATE TABLE "keys" ("id" TEXT NOT NULL, "notes" TEXT);\n'
PROCFILE = "web: npm start\nrelease: npx prisma migrate deploy\n"


def repo(**migrations: str) -> AppRepo:
    files = {"Procfile": PROCFILE, "prisma/schema.prisma": "// schema\n"}
    files[f"prisma/migrations/{APPLIED}/migration.sql"] = INIT_SQL
    for name, sql in migrations.items():
        files[f"prisma/migrations/{name}/migration.sql"] = sql
    return AppRepo(files=files, origin="commit 1a2b3c4d")


@pytest.fixture
def target(pg_url: str) -> str:
    """A database that applied the init migration: ``keys`` with 250 rows (analyzed), an
    empty ``tags``, and ``notes_log`` with rows but never analyzed."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(INIT_SQL)
        conn.execute('INSERT INTO "keys" SELECT g::text, NULL FROM generate_series(1, 250) g')
        conn.execute('CREATE TABLE "tags" ("id" TEXT NOT NULL)')
        conn.execute('CREATE TABLE "notes_log" ("id" INT)')
        conn.execute('ANALYZE "keys"')
        conn.execute('ANALYZE "tags"')
        conn.execute('INSERT INTO "notes_log" SELECT g FROM generate_series(1, 10) g')
        conn.execute(
            'CREATE TABLE "_prisma_migrations" (id TEXT, checksum TEXT, finished_at TIMESTAMPTZ,'
            " migration_name TEXT, logs TEXT, rolled_back_at TIMESTAMPTZ,"
            " started_at TIMESTAMPTZ DEFAULT now(), applied_steps_count INT DEFAULT 0)"
        )
        conn.execute(
            'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name) '
            "VALUES ('1', %s, now(), %s)",
            (prisma_checksum(INIT_SQL), APPLIED),
        )
    return pg_url


def settings(**lint: object) -> Migrations:
    return Migrations.model_validate({"lint": lint} if lint else {})


def test_a_dropped_column_is_an_error_naming_the_table_and_its_rows(target: str) -> None:
    name = "20250201000000_drop_notes"
    report = lint_pending(
        repo(**{name: 'ALTER TABLE "keys" DROP COLUMN "notes";\n'}),
        target,
        settings(),
        target="keycliq-staging",
    )
    assert report.status == "linted"
    assert report.pending == [name]  # the applied one is not linted
    (error,) = report.errors
    assert error.rule == "ban-drop-column" and error.table == "keys" and error.rows == 250
    assert error.text() == (
        f"prisma/migrations/{name}/migration.sql:1 ban-drop-column: Dropping a column may "
        "break existing clients. (on keys, ≈250 rows)"
    )
    assert report.squawk_version == squawk.version()
    assert report.lines()[0] == f"{name}: {len(report.findings)} finding(s)"
    # prefer-robust-stmts and the timeout rules are off by default
    assert {f.rule for f in report.findings} == {"ban-drop-column"}


def test_a_required_column_is_an_error_only_where_the_table_has_rows(target: str) -> None:
    sql = (
        "-- AlterTable\n"
        'ALTER TABLE "keys" ADD COLUMN "label" TEXT NOT NULL;\n'
        'ALTER TABLE "tags" ADD COLUMN "label" TEXT NOT NULL;\n'
        'ALTER TABLE "notes_log" ADD COLUMN "label" TEXT NOT NULL;\n'
        'CREATE TABLE "fresh" ("id" TEXT NOT NULL);\n'
        'ALTER TABLE "fresh" ADD COLUMN "label" TEXT NOT NULL;\n'
    )
    report = lint_pending(
        repo(**{"20250201000000_labels": sql}), target, settings(), target="keycliq-staging"
    )
    found = {
        (f.table, f.level, f.size()) for f in report.findings if f.rule == "adding-required-field"
    }
    assert found == {
        ("keys", "error", "on keys (≈250 rows)"),
        ("tags", "warning", "on tags (≈0 rows)"),
        # never analyzed: its size is unknown, so it may have rows
        ("notes_log", "error", "on notes_log (row count unknown: never analyzed)"),
        ("fresh", "warning", "on fresh (not in the database yet)"),
    }
    assert {f.line for f in report.errors} == {2, 4}


def test_rule_levels_come_from_keycliq_yaml(target: str) -> None:
    # a bare `off` is YAML's false: read as off
    loaded = yaml.safe_load(
        "rules:\n  ban-drop-column: off\n  require-concurrent-index-creation: error\n"
        "  adding-required-field: warning\n"
    )
    sql = (
        'ALTER TABLE "keys" DROP COLUMN "notes";\nCREATE INDEX "k" ON "keys"("id");\n'
        'ALTER TABLE "keys" ADD COLUMN "label" TEXT NOT NULL;\n'
    )
    report = lint_pending(repo(**{"20250201000000_x": sql}), target, settings(**loaded), target="t")
    levels = {(f.rule, f.level) for f in report.findings}
    assert ("require-concurrent-index-creation", "error") in levels
    assert ("adding-required-field", "warning") in levels
    assert not any(rule == "ban-drop-column" for rule, _ in levels)


def test_nothing_pending_and_nothing_to_lint(target: str) -> None:
    done = lint_pending(repo(), target, settings(), target="keycliq-staging")
    assert done.status == "nothing-pending" and not done.findings
    assert "keycliq-staging has applied every migration" in done.reason
    push = AppRepo(
        files={"prisma/schema.prisma": "// schema\n", "package.json": '{"scripts": {}}'},
        origin="commit 1a2b3c4d",
    )
    why = nothing_to_lint(push, Migrations(strategy="db-push"))
    assert why is not None and "prisma db push" in why and "no migration files" in why
    off = nothing_to_lint(repo(), settings(enabled=False))
    assert off is not None and "migrations.lint.enabled is false" in off


def test_squawk_s_failures_are_command_errors() -> None:
    with pytest.raises(CommandError, match="not a repository path"):
        squawk.lint({"../outside.sql": "SELECT 1;"})
    with pytest.raises(CommandError, match="exited 2"):
        squawk.lint({"a.sql": "SELECT 1;"}, exclude=["no-such-rule"])


def test_dependency_changes_from_package_json_and_the_lock_file() -> None:
    old_pkg = '{"dependencies": {"prisma": "^6.15.0", "zod": "^4.0.0"}}'
    new_pkg = '{"dependencies": {"prisma": "^6.16.2", "zod": "^4.0.0", "resend": "^6.1.1"}}'
    old_lock = (
        '{"lockfileVersion": 3, "packages": {"": {}, "node_modules/prisma": {"version": '
        '"6.15.0"}, "node_modules/zod": {"version": "4.0.1"}, "node_modules/@prisma/engines": '
        '{"version": "6.15.0"}, "node_modules/a/node_modules/ms": {"version": "2.0.0"}}}'
    )
    new_lock = (
        '{"lockfileVersion": 3, "packages": {"": {}, "node_modules/prisma": {"version": '
        '"6.16.2"}, "node_modules/zod": {"version": "4.0.1"}, "node_modules/@prisma/engines": '
        '{"version": "6.16.2"}, "node_modules/resend": {"version": "6.1.1"}, '
        '"node_modules/a/node_modules/ms": {"version": "2.1.3"}}}'
    )
    assert locked_versions(new_lock)["ms"] == "2.1.3"
    assert locked_versions('{"dependencies": {"x": {"version": "1.0.0"}}}') == {"x": "1.0.0"}

    from keycliq_ops.release.promote_preview import _Packages

    changes = dependency_changes(
        _Packages(direct_specs(old_pkg), locked_versions(old_lock)),
        _Packages(direct_specs(new_pkg), locked_versions(new_lock)),
    )
    assert [(c.name, c.old, c.new, c.direct) for c in changes] == [
        ("prisma", "6.15.0", "6.16.2", True),
        ("resend", None, "6.1.1", True),
        ("@prisma/engines", "6.15.0", "6.16.2", False),
        ("ms", "2.0.0", "2.1.3", False),
    ]
