"""The emulated ``prisma`` command line: arguments, dispatch, Prisma's exit statuses.

``main(argv, …)`` returns the exit status: 0 done; 1 Prisma's failures (P1001, P1012,
P3005, P3009, P3018, data loss refused, unknown command, pending migrations in
``migrate status``). Errors go to stderr as Prisma writes them, the rest to stdout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from keycliq_ops.standin.prisma import migrate, push
from keycliq_ops.standin.prisma.context import (
    PRISMA_VERSION,
    Ctx,
    PrismaExit,
    datasource,
    load,
    open_database,
    print_datasource,
)

USAGE = """
◭  Prisma is a modern DB toolkit to query, migrate and model your database (https://prisma.io)

Usage

  $ prisma [command]

Commands

            init   Set up Prisma for your app
        generate   Generate artifacts (e.g. Prisma Client)
              db   Manage your database schema and lifecycle
         migrate   Migrate your database
          studio   Browse your data with Prisma Studio
        validate   Validate your Prisma schema
          format   Format your Prisma schema
         version   Displays Prisma version info

Flags

     --preview-feature   Run Preview Prisma commands
     --help, -h          Show additional information about a command

Examples

  Set up a new Prisma project
  $ prisma init

  Generate artifacts (e.g. Prisma Client)
  $ prisma generate

  Push the Prisma schema state to the database
  $ prisma db push
"""

MIGRATE_USAGE = """
Update the database schema with migrations

Usage

  $ prisma migrate [command] [options]

Commands for development

         dev   Create a migration from changes in Prisma schema, apply it to the database
               trigger generators (e.g. Prisma Client)
       reset   Reset your database and apply all migrations, all data will be lost

Commands for production/staging

      deploy   Apply pending migrations to the database
      status   Check the status of your database migrations
     resolve   Resolve issues with database migrations, i.e. baseline, failed migration, hotfix

Options

  -h, --help   Display this help message
    --schema   Custom path to your Prisma schema
"""

DB_USAGE = """
Manage your database schema and lifecycle during development.

Usage

  $ prisma db [command] [options]

Commands
        push   Push the Prisma schema state to the database

Options

  -h, --help   Display this help message
    --schema   Custom path to your Prisma schema
"""

_NON_INTERACTIVE = (
    "Error: Prisma Migrate has detected that the environment is non-interactive, which is "
    "not supported.\n\n`prisma migrate dev` is an interactive command designed to create new "
    "migrations and evolve the database in development.\nTo apply existing migrations in "
    "deployments, use prisma migrate deploy.\n"
    "See https://www.prisma.io/docs/reference/api-reference/command-reference#migrate-deploy"
)


class _Args:
    def __init__(self, argv: list[str]) -> None:
        self.words: list[str] = []
        self.flags: set[str] = set()
        self.values: dict[str, str] = {}
        self.unknown: list[str] = []
        it = iter(argv)
        for arg in it:
            if arg.startswith("--") and "=" in arg:
                key, _, value = arg.partition("=")
                self.values[key] = value
            elif arg in (
                "--schema",
                "--rolled-back",
                "--applied",
                "--config",
                "--from-url",
                "--to-schema-datamodel",
            ):
                self.values[arg] = next(it, "")
            elif arg.startswith("-"):
                self.flags.add(arg)
            else:
                self.words.append(arg)

    @property
    def schema(self) -> str | None:
        return self.values.get("--schema")


def _unknown(ctx: Ctx, word: str, usage: str) -> int:
    ctx.err(f'\n! Unknown command "{word}"\n{usage}')
    return 1


def run(ctx: Ctx, argv: list[str]) -> int:
    args = _Args(argv)
    words = args.words
    if not words:
        if args.flags & {"-v", "--version"}:
            return _version(ctx)
        ctx.out(USAGE)
        return 0 if args.flags & {"-h", "--help"} else 1
    command = words[0]
    if command == "migrate":
        sub = words[1] if len(words) > 1 else ""
        if sub == "deploy":
            return migrate.deploy(ctx, args.schema)
        if sub == "status":
            return migrate.status(ctx, args.schema)
        if sub == "resolve":
            return _resolve(ctx, args)
        if sub == "diff":
            return push.migrate_diff(
                ctx,
                args.values.get("--from-url"),
                args.values.get("--to-schema-datamodel"),
                exit_code="--exit-code" in args.flags,
                script="--script" in args.flags,
            )
        if sub in ("dev", "reset"):
            raise PrismaExit(_NON_INTERACTIVE if sub == "dev" else _reset_refused(ctx))
        if not sub:
            ctx.out(MIGRATE_USAGE)
            return 0 if args.flags & {"-h", "--help"} else 1
        return _unknown(ctx, sub, MIGRATE_USAGE)
    if command == "db":
        sub = words[1] if len(words) > 1 else ""
        if sub == "push":
            return push.db_push(
                ctx,
                args.schema,
                accept_data_loss="--accept-data-loss" in args.flags,
                force_reset="--force-reset" in args.flags,
                skip_generate="--skip-generate" in args.flags,
            )
        if not sub:
            ctx.out(DB_USAGE)
            return 0 if args.flags & {"-h", "--help"} else 1
        return _unknown(ctx, sub, DB_USAGE)
    if command == "generate":
        load(ctx, args.schema)
        ctx.out()
        ctx.out(push.generated_line(ctx))
        ctx.out()
        ctx.out("Start by importing your Prisma Client (See: https://pris.ly/d/importing-client)")
        return 0
    if command == "validate":
        _, rel = load(ctx, args.schema)
        ctx.out(f"The schema at {rel} is valid 🚀")
        return 0
    if command in ("version", "-v", "--version"):
        return _version(ctx)
    return _unknown(ctx, command, USAGE)


def _reset_refused(ctx: Ctx) -> str:
    return (
        "Error: Prisma Migrate has detected that the environment is non-interactive. It is "
        "recommended to run this command in an interactive environment.\n\nUse --force to run "
        "this command without user interaction.\nSee "
        "https://www.prisma.io/docs/reference/api-reference/command-reference#migrate-reset"
    )


def _version(ctx: Ctx) -> int:
    ctx.out(f"prisma                  : {PRISMA_VERSION}")
    ctx.out(f"@prisma/client          : {PRISMA_VERSION}")
    ctx.out("Operating System        : linux")
    ctx.out("Architecture            : x64")
    ctx.out("Node.js                 : v20.18.0")
    ctx.out("Schema Engine           : emulated by the keycliq stand-in (offline)")
    return 0


def _resolve(ctx: Ctx, args: _Args) -> int:
    rolled_back = args.values.get("--rolled-back")
    applied = args.values.get("--applied")
    if not rolled_back and not applied:
        ctx.err(
            "\n! --applied or --rolled-back must be part of the command like:\n"
            f"{ctx.command('prisma migrate resolve --applied 20201231000000_example')}\n"
            f"{ctx.command('prisma migrate resolve --rolled-back 20201231000000_example')}"
        )
        return 1
    schema, rel = load(ctx, args.schema)
    ds = datasource(ctx, schema, rel)
    print_datasource(ctx, ds)
    migrations_dir = (ctx.cwd / rel).parent / "migrations"
    with open_database(ds) as conn:
        conn.execute(migrate.CREATE_TABLE)
        if rolled_back:
            cur = conn.execute(
                'UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = %s '
                "AND finished_at IS NULL AND rolled_back_at IS NULL",
                (rolled_back,),
            )
            if cur.rowcount == 0:
                raise PrismaExit(
                    f"Error: P3012\n\nMigration `{rolled_back}` cannot be rolled back because it "
                    "is not in a failed state."
                )
            ctx.out()
            ctx.out(f"Migration {rolled_back} marked as rolled back.")
            return 0
        assert applied is not None
        path = migrations_dir / applied / "migration.sql"
        if not path.is_file():
            raise PrismaExit(
                f"Error: P3017\n\nThe migration {applied} could not be found. Please make sure "
                "that the migration exists, and that you included the whole name of the "
                'directory. (example: "20201207184859_initial_migration")'
            )
        done = conn.execute(
            'SELECT 1 FROM "_prisma_migrations" WHERE migration_name = %s '
            "AND finished_at IS NOT NULL AND rolled_back_at IS NULL",
            (applied,),
        ).fetchone()
        if done:
            raise PrismaExit(
                f"Error: P3008\n\nThe migration `{applied}` is already recorded as applied in "
                "the database."
            )
        conn.execute(
            'UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = %s '
            "AND finished_at IS NULL AND rolled_back_at IS NULL",
            (applied,),
        )
        import uuid

        conn.execute(
            'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, '
            "finished_at, applied_steps_count) VALUES (%s, %s, %s, now(), now(), 0)",
            (str(uuid.uuid4()), migrate.checksum(path.read_bytes()), applied),
        )
    ctx.out()
    ctx.out(f"Migration {applied} marked as applied.")
    return 0


def main(
    argv: list[str] | None = None,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    ctx = Ctx(
        cwd=cwd or Path.cwd(),
        env=dict(os.environ if env is None else env),
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
    )
    try:
        return run(ctx, list(sys.argv[1:] if argv is None else argv))
    except PrismaExit as exc:
        ctx.err(exc.message)
        return exc.code
