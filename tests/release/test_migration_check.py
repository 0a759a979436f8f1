"""Migrations verified from the database's record: the comparison and the readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from keycliq_ops.config.app_repo import AppRepo
from keycliq_ops.release.migration_check import (
    MigrationRow,
    compare,
    explain_failure,
    missing_tables,
    prisma_checksum,
    prisma_kind,
    strategy_problem,
)

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
INIT = 'CREATE TABLE "keys" ("id" TEXT NOT NULL);\n'
INDEX = 'CREATE INDEX "keys_id_idx" ON "keys"("id");\n'


def _row(
    name: str, sql: str, *, at: datetime | None = T0, rolled: bool = False, logs: str = ""
) -> MigrationRow:
    return MigrationRow(
        name, prisma_checksum(sql), at, T0 if rolled else None, T0 - timedelta(seconds=1), logs
    )


def test_checksum_is_sha256_of_the_file() -> None:
    # sha256 of the bytes, as Prisma stores it (hex, 64 characters)
    assert prisma_checksum("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_all_applied_some_now() -> None:
    state = compare(
        {"1_init": INIT, "2_index": INDEX},
        [_row("1_init", INIT, at=T0 - timedelta(days=3)), _row("2_index", INDEX)],
        since=T0 - timedelta(minutes=1),
    )
    assert state.ok
    assert state.applied_now == ["2_index"] and state.applied_before == ["1_init"]
    assert state.summary() == "1 applied in this release, 1 applied before"


def test_every_disagreement_is_named() -> None:
    state = compare(
        {"1_init": INIT, "2_index": INDEX, "3_new": "SELECT 1;", "4_broken": "SELEC;"},
        [
            _row("1_init", INIT + "-- edited\n"),  # modified after being applied
            _row("4_broken", "SELEC;", at=None, logs='syntax error at or near "SELEC"\n...'),
            _row("0_gone", "x"),  # only in the database
            _row("5_undone", "y", rolled=True),  # rolled back and gone from the repo: fine
        ],
    )
    assert not state.ok
    assert state.modified == ["1_init"]
    assert state.pending == ["2_index", "3_new"]
    assert state.failed == [("4_broken", 'syntax error at or near "SELEC"')]
    assert state.not_in_repo == ["0_gone"]
    assert len(state.problems()) == 5


def test_a_failed_attempt_later_applied_counts_as_applied() -> None:
    state = compare(
        {"1_init": INIT},
        [_row("1_init", INIT, at=None, rolled=True), _row("1_init", INIT)],
    )
    assert state.ok and state.applied_before == ["1_init"]


def test_no_table_means_everything_pending() -> None:
    state = compare({"1_init": INIT}, None)
    assert state.pending == ["1_init"]


def test_crlf_checkout_matches_the_lf_checksum() -> None:
    state = compare({"1_init": INIT.replace("\n", "\r\n")}, [_row("1_init", INIT)])
    assert state.ok


def test_missing_tables_and_columns() -> None:
    from keycliq_ops.config.app_repo import Model, SourceLine

    models = [
        Model(
            "User", "User", ("id", "email"), SourceLine("prisma/schema.prisma", 10, "model User {")
        ),
        Model("Key", "keys", ("id", "name"), SourceLine("prisma/schema.prisma", 20, "model Key {")),
    ]
    present = [("User", "id"), ("keys", "id"), ("keys", "name")]
    assert missing_tables(models, present) == ["User.email"]
    assert missing_tables(models, [("User", "id"), ("User", "email")]) == [
        "keys (model Key, prisma/schema.prisma:20)"
    ]


@pytest.mark.parametrize(
    ("lines", "status", "kind"),
    [
        (
            ["Error: P3018", "", "Migration name: 2_index", "Database error code: 42P07"],
            1,
            "migration-failed",
        ),
        (["Error: P3009", "", "The `2_index` migration started at … failed"], 1, "earlier-failure"),
        (["Error: P1001: Can't reach database server at `db:5432`"], 1, "unreachable"),
        (["bash: line 1: npx: command not found"], 127, "could-not-start"),
        (['npm error Missing script: "db:push"'], 1, "could-not-start"),
        (["Error: Environment variable not found: DATABASE_URL."], 1, "could-not-start"),
        (["something else"], 2, "unknown"),
    ],
)
def test_failures_are_read(lines: list[str], status: int, kind: str) -> None:
    reading = explain_failure(lines, status, "npx prisma migrate deploy")
    assert reading.kind == kind
    assert reading.hint
    if kind == "migration-failed":
        assert reading.migration == "2_index" and "2_index" in reading.hint


def test_prisma_kind_follows_npm_scripts() -> None:
    scripts = {
        "db:push": "prisma db push",
        "migrate": "npm run db:migrate",
        "db:migrate": "prisma migrate deploy",
    }
    assert prisma_kind("npx prisma migrate deploy", {}) == "migrate-deploy"
    assert prisma_kind("npm run db:push", scripts) == "db-push"
    assert prisma_kind("npm run migrate", scripts) == "migrate-deploy"
    assert prisma_kind("./scripts/migrate.sh", scripts) is None
    assert prisma_kind("npm run loop", {"loop": "npm run loop"}) is None


def _app(files: dict[str, str]) -> AppRepo:
    return AppRepo(files=files, origin="commit 1a2b3c4d")


def test_release_phase_needs_a_release_line() -> None:
    app = _app(
        {
            "package.json": '{"scripts": {"db:push": "prisma db push"}}',
            "prisma/schema.prisma": "model A {\n id String @id\n}\n",
        }
    )
    problem = strategy_problem("release-phase", None, app)
    assert problem is not None
    what, fix = problem
    assert "has no Procfile" in what and "commit 1a2b3c4d" in what
    assert "migrations.strategy: db-push" in fix


def test_migrate_deploy_needs_migrations() -> None:
    app = _app({"Procfile": "release: npx prisma migrate deploy\n", "prisma/schema.prisma": "x"})
    problem = strategy_problem("release-phase", None, app)
    assert problem is not None and "Procfile:1" in problem[0] and "prisma/migrations/" in problem[0]
    problem = strategy_problem("one-off", "npx prisma migrate deploy", app)
    assert problem is not None and "db-push" in problem[1]


def test_db_push_needs_its_script() -> None:
    app = _app({"package.json": '{"scripts": {"build": "x"}}', "prisma/schema.prisma": "x"})
    problem = strategy_problem("db-push", "npm run db:push", app)
    assert problem is not None and "'db:push'" in problem[0] and "build" in problem[0]
    ok = _app(
        {"package.json": '{"scripts": {"db:push": "prisma db push"}}', "prisma/schema.prisma": "x"}
    )
    assert strategy_problem("db-push", "npm run db:push", ok) is None
