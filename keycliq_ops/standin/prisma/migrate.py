"""``prisma migrate deploy`` and ``prisma migrate status``, as Prisma 6 behaves.

The migrations are the folders of ``prisma/migrations`` (next to the schema) holding a
``migration.sql``, in name order. The history is the ``_prisma_migrations`` table with
Prisma's columns; a row's ``checksum`` is the SHA-256 (hex) of its ``migration.sql`` bytes.
``deploy`` takes Prisma's advisory lock (72707369), refuses to go on after a failed
migration (P3009) or on a non-empty database without a history (P3005), and applies each
pending migration as one script (PostgreSQL runs a multi-statement script atomically):
a row is written when it starts, finished on success (``applied_steps_count`` 1), and
left unfinished with the error in ``logs`` on failure (P3018). ``deploy`` does not compare
checksums (Prisma does that only in ``migrate dev``); the table keeps both for a verifier.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from keycliq_ops.standin.prisma.context import (
    Ctx,
    PrismaExit,
    datasource,
    db_error,
    is_db_error,
    load,
    open_database,
    print_datasource,
)

LOCK_ID = 72707369
TABLE = "_prisma_migrations"
CREATE_TABLE = """CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)"""
RESOLVE_LINK = "https://pris.ly/d/migrate-resolve"
BASELINE_LINK = "https://pris.ly/d/migrate-baseline"


@dataclass(frozen=True)
class Row:
    name: str
    checksum: str
    started_at: datetime
    finished: bool
    rolled_back: bool


def checksum(sql_bytes: bytes) -> str:
    """Prisma's checksum of a migration: SHA-256 of the file's bytes, lowercase hex."""
    return hashlib.sha256(sql_bytes).hexdigest()


def migration_folders(migrations_dir: Path) -> list[str]:
    """The migrations Prisma finds: sub-folders, sorted by name (lock file excluded)."""
    if not migrations_dir.is_dir():
        return []
    return sorted(p.name for p in migrations_dir.iterdir() if p.is_dir())


def _found_line(ctx: Ctx, names: list[str]) -> None:
    ctx.out()
    if names:
        plural = "s" if len(names) > 1 else ""
        ctx.out(f"{len(names)} migration{plural} found in prisma/migrations")
    else:
        ctx.out("No migration found in prisma/migrations")


def _has_table(conn: Any) -> bool:
    row = conn.execute("SELECT to_regclass('public._prisma_migrations') IS NOT NULL").fetchone()
    return bool(row and row[0])


def _schema_is_empty(conn: Any) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
        "AND c.relname <> '_prisma_migrations'"
    ).fetchone()
    types = conn.execute(
        "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = 'public' AND t.typtype = 'e'"
    ).fetchone()
    return bool(row and row[0] == 0 and types and types[0] == 0)


def _rows(conn: Any) -> list[Row]:
    cur = conn.execute(
        "SELECT migration_name, checksum, started_at, finished_at IS NOT NULL, "
        f'rolled_back_at IS NOT NULL FROM "{TABLE}" ORDER BY started_at, migration_name'
    )
    return [Row(r[0], r[1], r[2], bool(r[3]), bool(r[4])) for r in cur.fetchall()]


def _failed(rows: list[Row]) -> list[Row]:
    return [r for r in rows if not r.finished and not r.rolled_back]


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"


def deploy(ctx: Ctx, schema_arg: str | None) -> int:
    schema, rel = load(ctx, schema_arg)
    ds = datasource(ctx, schema, rel)
    print_datasource(ctx, ds)
    migrations_dir = (ctx.cwd / rel).parent / "migrations"
    with open_database(ds) as conn:
        names = migration_folders(migrations_dir)
        _found_line(ctx, names)
        ctx.out()
        conn.execute(f"SELECT pg_advisory_lock({LOCK_ID})")
        try:
            applied = _apply(ctx, conn, migrations_dir, names)
        finally:
            conn.execute(f"SELECT pg_advisory_unlock({LOCK_ID})")
    ctx.out()
    if not applied:
        ctx.out("No pending migrations to apply.")
        return 0
    ctx.out("The following migration(s) have been applied:")
    ctx.out()
    ctx.out("migrations/")
    for name in applied:
        ctx.out(f"  └─ {name}/")
        ctx.out("    └─ migration.sql")
    ctx.out()
    ctx.out("All migrations have been successfully applied.")
    return 0


def _apply(ctx: Ctx, conn: Any, migrations_dir: Path, names: list[str]) -> list[str]:
    if not _has_table(conn):
        if names and not _schema_is_empty(conn):
            raise PrismaExit(
                "Error: P3005\n\nThe database schema is not empty. Read more about how to "
                f"baseline an existing production database: {BASELINE_LINK}"
            )
        conn.execute(CREATE_TABLE)
    rows = _rows(conn)
    failed = _failed(rows)
    if failed:
        first = failed[0]
        raise PrismaExit(
            "Error: P3009\n\nmigrate found failed migrations in the target database, new "
            "migrations will not be applied. Read more about how to resolve migration issues "
            f"in a production database: {RESOLVE_LINK}\n"
            f"The `{first.name}` migration started at {_utc(first.started_at)} failed\n"
        )
    done = {r.name for r in rows if r.finished and not r.rolled_back}
    applied: list[str] = []
    for name in (n for n in names if n not in done):
        path = migrations_dir / name / "migration.sql"
        if not path.is_file():
            raise PrismaExit(
                f"Error: P3015\n\nCould not find the migration file at {path.relative_to(ctx.cwd)}."
                " Please delete the directory or restore the migration file."
            )
        script = path.read_bytes()
        row_id = str(uuid.uuid4())
        conn.execute(
            f'INSERT INTO "{TABLE}" (id, checksum, migration_name, started_at, '
            "applied_steps_count) VALUES (%s, %s, %s, now(), 0)",
            (row_id, checksum(script), name),
        )
        ctx.out(f"Applying migration `{name}`")
        try:
            if script.strip():
                conn.execute(script.decode("utf-8"))
        except Exception as exc:
            if not is_db_error(exc):
                raise
            sqlstate, message = db_error(exc)
            logs = (
                "A migration failed to apply. New migrations cannot be applied before the error "
                "is recovered from. Read more about how to resolve migration issues in a "
                f"production database: {RESOLVE_LINK}\n\n"
                f"Migration name: {name}\n\n"
                f"Database error code: {sqlstate}\n\n"
                f"Database error:\n{message}\n"
            )
            conn.execute(f'UPDATE "{TABLE}" SET logs = %s WHERE id = %s', (logs, row_id))
            raise PrismaExit(f"Error: P3018\n\n{logs}") from None
        conn.execute(
            f'UPDATE "{TABLE}" SET finished_at = now(), applied_steps_count = 1 WHERE id = %s',
            (row_id,),
        )
        applied.append(name)
    return applied


def status(ctx: Ctx, schema_arg: str | None) -> int:
    schema, rel = load(ctx, schema_arg)
    ds = datasource(ctx, schema, rel)
    print_datasource(ctx, ds)
    migrations_dir = (ctx.cwd / rel).parent / "migrations"
    with open_database(ds) as conn:
        has_table = _has_table(conn)
        rows = _rows(conn) if has_table else []
    names = migration_folders(migrations_dir)
    _found_line(ctx, names)
    done = {r.name for r in rows if r.finished and not r.rolled_back}
    failed = [r.name for r in _failed(rows)]
    pending = [n for n in names if n not in done and n not in failed]
    in_db_only = [r.name for r in rows if r.name not in names and not r.rolled_back]
    if pending and not in_db_only:
        plural = "s" if len(pending) > 1 else ""
        ctx.out(f"Following migration{plural} have not yet been applied:")
        ctx.out("\n".join(pending))
        ctx.out()
        ctx.out(f"To apply migrations in development run {ctx.command('prisma migrate dev')}.")
        ctx.out(f"To apply migrations in production run {ctx.command('prisma migrate deploy')}.")
        return 1
    if in_db_only:
        last_common = next((n for n in reversed(names) if n in done), None)
        s_p = "s" if len(pending) > 1 else ""
        s_u = "s" if len(in_db_only) > 1 else ""
        ctx.err(
            "Your local migration history and the migrations table from your database are "
            f"different:\n\nThe last common migration is: {last_common}\n\n"
            f"The migration{s_p} have not yet been applied:\n" + "\n".join(pending) + "\n\n"
            f"The migration{s_u} from the database are not found locally in prisma/migrations:\n"
            + "\n".join(in_db_only)
        )
        return 1
    if not has_table:
        ctx.err(
            "The current database is not managed by Prisma Migrate.\n\n"
            f"Read more about how to baseline an existing production database:\n{BASELINE_LINK}"
        )
        return 1
    if failed:
        plural = "s" if len(failed) > 1 else ""
        ctx.err(
            f"Following migration{plural} have failed:\n" + "\n".join(failed) + "\n\n"
            "During development if the failed migration(s) have not been deployed to a "
            f"production database you can then fix the migration(s) and run "
            f"{ctx.command('prisma migrate dev')}.\n"
        )
        ctx.err(
            "The failed migration(s) can be marked as rolled back or applied:\n\n"
            "- If you rolled back the migration(s) manually:\n"
            f'{ctx.command("prisma migrate resolve")} --rolled-back "{failed[0]}"\n\n'
            "- If you fixed the database manually (hotfix):\n"
            f'{ctx.command("prisma migrate resolve")} --applied "{failed[0]}"\n\n'
            "Read more about how to resolve migration issues in a production database:\n"
            f"{RESOLVE_LINK}"
        )
        return 1
    ctx.out()
    ctx.out("Database schema is up to date!")
    return 0
