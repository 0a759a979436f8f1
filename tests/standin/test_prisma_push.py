"""``prisma db push`` of the emulation against a real PostgreSQL: it creates exactly the
catalogue's schema from the app's schema.prisma, extends tables, handles enums, and refuses
data loss with Prisma's texts unless told to accept it."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from keycliq_ops.standin.sample.repo import SCHEMA_SQL, app_schema_prisma

from .prisma_helpers import closed_port, prisma, write_project

pytestmark = pytest.mark.db

Shape = dict[str, set[tuple[object, ...]]]


def _shape(url: str) -> Shape:
    """Every Prisma-relevant object of ``public``: enums, columns, indexes, constraints."""
    with psycopg.connect(url) as conn:
        return {
            "enums": set(
                conn.execute(
                    "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text "
                    "FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY 1"
                ).fetchall()
            ),
            "columns": set(
                conn.execute(
                    "SELECT table_name, column_name, ordinal_position, data_type, udt_name, "
                    "is_nullable, column_default, datetime_precision "
                    "FROM information_schema.columns WHERE table_schema = 'public' "
                    "AND table_name <> '_prisma_migrations'"
                ).fetchall()
            ),
            "indexes": set(
                conn.execute(
                    "SELECT tablename, indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'"
                ).fetchall()
            ),
            "constraints": set(
                conn.execute(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                    "FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
                    "AND conrelid::regclass::text <> '_prisma_migrations'"
                ).fetchall()
            ),
        }


def _execute(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write_project(tmp_path / "app", app_schema_prisma())


def test_push_creates_exactly_the_objects_of_schema_sql(
    app: Path, pg_url: str, pg_server: object
) -> None:
    from keycliq_ops.standin.pgembed import PostgresServer

    assert isinstance(pg_server, PostgresServer)
    ran = prisma(app, pg_url, "db", "push", "--skip-generate")
    assert ran.code == 0, ran.text
    lines = ran.out.splitlines()
    assert lines[0] == "Prisma schema loaded from prisma/schema.prisma"
    assert lines[-1].startswith(
        "🚀  Your database is now in sync with your Prisma schema. Done in "
    )
    assert lines[-1].endswith("ms") or lines[-1].endswith("s")
    assert "Generated Prisma Client" not in ran.out
    name = "kc_push_reference"
    reference = pg_server.create_database(name)
    try:
        _execute(reference, SCHEMA_SQL.read_text())
        assert _shape(pg_url) == _shape(reference)
    finally:
        pg_server.drop_database(name)

    again = prisma(app, pg_url, "db", "push")
    assert again.code == 0
    assert "The database is already in sync with the Prisma schema." in again.out.splitlines()
    last = [ln for ln in again.out.splitlines() if ln][-1]
    assert last.startswith("✔ Generated Prisma Client (v6.15.0) to ./node_modules/@prisma/client")


def test_push_is_a_no_op_on_the_database_the_migrations_built(app: Path, pg_url: str) -> None:
    _execute(pg_url, SCHEMA_SQL.read_text())
    ran = prisma(app, pg_url, "db", "push", "--skip-generate")
    assert ran.code == 0
    assert ran.out.splitlines()[-1] == "The database is already in sync with the Prisma schema."


def _seed_one_key(url: str) -> None:
    _execute(
        url,
        'INSERT INTO "User" (id, email, password, "updatedAt") VALUES '
        "('u1', 'a@example.com', 'x', now());"
        'INSERT INTO keys (id, "userId", name, "updatedAt", notes) VALUES '
        "('k1', 'u1', 'front door', now(), 'blue tag');",
    )


def test_push_extends_a_table_with_a_new_optional_column(app: Path, pg_url: str) -> None:
    _execute(pg_url, SCHEMA_SQL.read_text())
    _seed_one_key(pg_url)
    schema = app / "prisma" / "schema.prisma"
    schema.write_text(
        schema.read_text().replace(
            '  sigStatus     String         @default("pending")\n',
            '  sigStatus     String         @default("pending")\n  label         String?\n'
            "  floor         Int            @default(0)\n",
        )
    )
    ran = prisma(app, pg_url, "db", "push", "--skip-generate")
    assert ran.code == 0, ran.text
    assert "Your database is now in sync with your Prisma schema." in ran.out
    with psycopg.connect(pg_url) as conn:
        columns = conn.execute(
            "SELECT column_name, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_name = 'keys' AND column_name IN ('label', 'floor') ORDER BY 1"
        ).fetchall()
        kept = conn.execute("SELECT name, notes, floor FROM keys").fetchall()
    assert columns == [("floor", "NO", "0"), ("label", "YES", None)]
    assert kept == [("front door", "blue tag", 0)]


def test_push_refuses_to_drop_a_column_that_holds_values(app: Path, pg_url: str) -> None:
    _execute(pg_url, SCHEMA_SQL.read_text())
    _seed_one_key(pg_url)
    schema = app / "prisma" / "schema.prisma"
    schema.write_text(schema.read_text().replace("  notes         String?\n", ""))

    refused = prisma(app, pg_url, "db", "push", env={"npm_command": "exec"})
    assert refused.code == 1
    assert "⚠️  There might be data loss when applying the changes:" in refused.out
    assert (
        "  • You are about to drop the column `notes` on the `keys` table, which still "
        "contains 1 non-null values." in refused.out.splitlines()
    )
    assert refused.err.strip() == (
        "Error: Use the --accept-data-loss flag to ignore the data loss warnings like "
        "npx prisma db push --accept-data-loss"
    )
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT notes FROM keys").fetchall() == [("blue tag",)]

    accepted = prisma(app, pg_url, "db", "push", "--accept-data-loss", "--skip-generate")
    assert accepted.code == 0, accepted.text
    assert "Your database is now in sync with your Prisma schema." in accepted.out
    with psycopg.connect(pg_url) as conn:
        gone = conn.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'keys' AND column_name = 'notes'"
        ).fetchone()
    assert gone == (0,)


def test_push_refuses_a_required_column_without_default_on_a_table_with_rows(
    app: Path, pg_url: str
) -> None:
    _execute(pg_url, SCHEMA_SQL.read_text())
    _seed_one_key(pg_url)
    schema = app / "prisma" / "schema.prisma"
    schema.write_text(
        schema.read_text().replace(
            "  notes         String?\n", "  notes         String?\n  label         String\n"
        )
    )
    for flags in ((), ("--accept-data-loss",)):
        refused = prisma(app, pg_url, "db", "push", *flags)
        assert refused.code == 1
        assert "⚠️ We found changes that cannot be executed:" in refused.err
        assert (
            "  • Added the required column `label` to the `keys` table without a default "
            "value. There are 1 rows in this table, it is not possible to execute this step."
            in refused.err.splitlines()
        )
        assert "--force-reset" in refused.err


def test_push_refuses_to_drop_a_table_with_rows(app: Path, pg_url: str) -> None:
    _execute(
        pg_url,
        SCHEMA_SQL.read_text()
        + "CREATE TABLE legacy (id int); INSERT INTO legacy VALUES (1), (2);",
    )
    refused = prisma(app, pg_url, "db", "push")
    assert refused.code == 1
    assert (
        "  • You are about to drop the `legacy` table, which is not empty (2 rows)."
        in refused.out.splitlines()
    )


def test_push_adds_and_removes_enum_values(app: Path, pg_url: str) -> None:
    assert prisma(app, pg_url, "db", "push", "--skip-generate").code == 0
    schema = app / "prisma" / "schema.prisma"
    schema.write_text(schema.read_text().replace("  ADMIN\n}", "  ADMIN\n  AUDITOR\n}"))
    added = prisma(app, pg_url, "db", "push", "--skip-generate")
    assert added.code == 0, added.text
    with psycopg.connect(pg_url) as conn:
        labels = conn.execute('SELECT enum_range(NULL::"Role")::text').fetchone()
    assert labels == ("{USER,ADMIN,AUDITOR}",)

    _execute(
        pg_url,
        'INSERT INTO "User" (id, email, password, role, "updatedAt") '
        "VALUES ('u1', 'a@example.com', 'x', 'ADMIN', now())",
    )
    schema.write_text(schema.read_text().replace("  ADMIN\n  AUDITOR\n}", "  ADMIN\n}"))
    refused = prisma(app, pg_url, "db", "push")
    assert refused.code == 1
    assert (
        "  • The values [AUDITOR] on the enum `Role` will be removed. If these variants are "
        "still used in the database, this will fail." in refused.out.splitlines()
    )
    accepted = prisma(app, pg_url, "db", "push", "--accept-data-loss", "--skip-generate")
    assert accepted.code == 0, accepted.text
    with psycopg.connect(pg_url) as conn:
        labels = conn.execute('SELECT enum_range(NULL::"Role")::text').fetchone()
        user = conn.execute('SELECT role::text FROM "User"').fetchone()
        default = conn.execute(
            "SELECT column_default FROM information_schema.columns "
            "WHERE table_name = 'User' AND column_name = 'role'"
        ).fetchone()
    assert labels == ("{USER,ADMIN}",)
    assert user == ("ADMIN",)
    assert default == ("'USER'::\"Role\"",)


def test_push_creates_a_new_enum_and_a_new_model_with_its_relation(app: Path, pg_url: str) -> None:
    assert prisma(app, pg_url, "db", "push", "--skip-generate").code == 0
    schema = app / "prisma" / "schema.prisma"
    schema.write_text(
        schema.read_text().replace(
            "  matchings           KeyMatching[]\n",
            "  matchings           KeyMatching[]\n  notes Note[]\n",
        )
        + "\nenum Mood {\n  CALM\n  BUSY\n}\n\nmodel Note {\n"
        "  id     Int    @id @default(autoincrement())\n"
        "  userId String\n  mood   Mood   @default(CALM)\n"
        "  user   User   @relation(fields: [userId], references: [id], onDelete: Cascade)\n\n"
        '  @@unique([userId, mood])\n  @@map("notes")\n}\n'
    )
    ran = prisma(app, pg_url, "db", "push", "--skip-generate")
    assert ran.code == 0, ran.text
    with psycopg.connect(pg_url) as conn:
        defs = {
            row[0]
            for row in conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'notes'::regclass"
            ).fetchall()
        }
        index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'notes_userId_mood_key'"
        ).fetchone()
    assert (
        'FOREIGN KEY ("userId") REFERENCES "User"(id) ON UPDATE CASCADE ON DELETE CASCADE' in defs
    )
    assert index is not None and "UNIQUE INDEX" in index[0]
    again = prisma(app, pg_url, "db", "push", "--skip-generate")
    assert again.out.splitlines()[-1] == "The database is already in sync with the Prisma schema."


def test_push_to_an_unreachable_database_is_p1001(app: Path) -> None:
    port = closed_port()
    ran = prisma(app, f"postgresql://u:p@127.0.0.1:{port}/keycliq", "db", "push")
    assert ran.code == 1
    assert ran.err.startswith(f"Error: P1001: Can't reach database server at `127.0.0.1:{port}`")


def test_migrate_diff_tells_in_sync_from_behind_without_changing_anything(
    app: Path, pg_url: str
) -> None:
    args = ("migrate", "diff", "--from-url", pg_url, "--to-schema-datamodel")
    args += ("prisma/schema.prisma", "--exit-code")
    tables, indexes = [], []
    for stmt in SCHEMA_SQL.read_text().split(";"):
        (indexes if "CREATE INDEX" in stmt else tables).append(stmt)
    _execute(pg_url, ";".join(tables))  # the schema without its seven indexes
    behind = prisma(app, None, *args)
    assert behind.code == 2, behind.text
    assert "CreateIndex ×7" in behind.out
    before = _shape(pg_url)
    assert prisma(app, None, *args).code == 2  # nothing was changed
    assert _shape(pg_url) == before
    _execute(pg_url, ";".join(indexes))
    synced = prisma(app, None, *args)
    assert (synced.code, synced.out.splitlines()[-1]) == (0, "No difference detected."), synced.text
    script = prisma(
        app,
        None,
        "migrate",
        "diff",
        "--from-url",
        pg_url,
        "--to-schema-datamodel",
        "prisma/schema.prisma",
        "--script",
    )
    assert script.code == 0 and "empty migration" in script.out
