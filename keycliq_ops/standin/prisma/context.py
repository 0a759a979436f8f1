"""What every emulated command shares: the schema file, the datasource, the database.

:class:`Ctx` is one invocation (working folder, environment, output streams). Loading the
schema prints ``Prisma schema loaded from prisma/schema.prisma``; resolving the datasource
checks ``env("DATABASE_URL")`` (Prisma's P1012 when unset) and the URL's protocol;
:func:`open_database` connects through :mod:`keycliq_ops.standin.pgclient` and turns a
failure into Prisma's P1000 / P1001 / P1003 text. A :class:`PrismaExit` carries the text
Prisma writes to stderr and the exit status.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from keycliq_ops.standin.failures import StandinError
from keycliq_ops.standin.prisma.schema_parse import Schema, SchemaError, parse_schema

PRISMA_VERSION = "6.15.0"
SCHEMA_CANDIDATES = ("prisma/schema.prisma", "schema.prisma")


class PrismaExit(Exception):
    """Stop with ``message`` on stderr and exit status ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class Ctx:
    cwd: Path
    env: dict[str, str]
    stdout: TextIO
    stderr: TextIO

    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def err(self, text: str = "") -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def command(self, rest: str) -> str:
        """``prisma …`` as Prisma shows it, ``npx prisma …`` when run through npx."""
        return f"npx {rest}" if self.env.get("npm_command") == "exec" else rest


@dataclass(frozen=True)
class Datasource:
    url: str
    database: str
    schema: str
    location: str  # host[:port] as the datasource line shows it
    server: str  # host:port as the engine's errors show it
    user: str


def load(ctx: Ctx, schema_arg: str | None) -> tuple[Schema, str]:
    """The parsed schema and its path relative to ``ctx.cwd``; prints Prisma's first line."""
    candidates = [schema_arg] if schema_arg else list(SCHEMA_CANDIDATES)
    for rel in candidates:
        path = ctx.cwd / rel
        if path.is_file():
            break
    else:
        if schema_arg:
            raise PrismaExit(
                f"Error: Could not load `--schema` from provided path `{schema_arg}`: "
                "file or directory not found"
            )
        raise PrismaExit(
            "Error: Could not find Prisma Schema that is required for this command.\n"
            "You can either provide it with `--schema` argument, set it as `prisma.schema` in "
            "your package.json or put it into the default location.\n"
            "Checked following paths:\n\n"
            "schema.prisma: file not found\n"
            "prisma/schema.prisma: file not found\n"
            "prisma/schema: directory not found\n\n"
            "See also https://pris.ly/d/prisma-schema-location"
        )
    ctx.out(f"Prisma schema loaded from {rel}")
    text = path.read_text(encoding="utf-8")
    try:
        return parse_schema(text), rel
    except SchemaError as exc:
        raise PrismaExit(_validation_error(rel, text.splitlines(), exc.line, exc.message)) from None


def _validation_error(rel: str, lines: list[str], line: int, message: str) -> str:
    shown = [f"  -->  {rel}:{line}", "   | "]
    if line - 1 >= 1 and line - 2 < len(lines):
        shown.append(f"{line - 1:>2} | {lines[line - 2]}")
    if 0 < line <= len(lines):
        shown.append(f"{line:>2} | {lines[line - 1]}")
    shown.append("   | ")
    return "\n".join(
        [
            "Error: Prisma schema validation - (get-config wasm)",
            "Error code: P1012",
            f"error: {message}",
            *shown,
            "",
            "Validation Error Count: 1",
            "[Context: getConfig]",
            "",
            f"Prisma CLI Version : {PRISMA_VERSION}",
        ]
    )


def datasource(ctx: Ctx, schema: Schema, rel: str) -> Datasource:
    """The datasource's URL from the environment, as Prisma reads and checks it."""
    block = schema.datasource
    if block is None:
        raise PrismaExit(_validation_error(rel, schema.lines, 1, "A datasource must be defined"))
    env_name, literal, line = block.env_var("url")
    url = ctx.env.get(env_name) if env_name else literal
    if env_name and not url:
        raise PrismaExit(
            _validation_error(
                rel, schema.lines, line, f"Environment variable not found: {env_name}."
            )
        )
    if not url or not url.startswith(("postgresql://", "postgres://")):
        raise PrismaExit(
            _validation_error(
                rel,
                schema.lines,
                line,
                "Error validating datasource `db`: the URL must start with the protocol "
                "`postgresql://` or `postgres://`.",
            )
        )
    return url_datasource(url)


def url_datasource(url: str) -> Datasource:
    """A datasource from a connection URL (``--from-url``); P1013 when it does not parse."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise PrismaExit(
            "Error: P1013: The provided database string is invalid. The scheme is not "
            "recognized in database URL."
        )
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        port = parts.port
    except ValueError:
        raise PrismaExit(
            "Error: P1013: The provided database string is invalid. invalid port number in "
            "database URL. Please refer to the documentation in "
            "https://www.prisma.io/docs/reference/database-reference/connection-urls for "
            "constructing a correct connection string. In some cases, certain characters "
            "must be escaped. Please check the string for any illegal characters."
        ) from None
    host = unquote(parts.hostname or "") or query.get("host", ["localhost"])[0]
    database = unquote(parts.path.lstrip("/")) or "postgres"
    return Datasource(
        url=url,
        database=database,
        schema=query.get("schema", ["public"])[0],
        location=f"{host}:{port}" if port else host,
        server=f"{host}:{port or 5432}",
        user=unquote(parts.username or ""),
    )


def print_datasource(ctx: Ctx, ds: Datasource) -> None:
    ctx.out(
        f'Datasource "db": PostgreSQL database "{ds.database}", schema "{ds.schema}" '
        f'at "{ds.location}"'
    )


@contextlib.contextmanager
def open_database(ds: Datasource) -> Iterator[Any]:
    """A connection to the datasource; Prisma's P1000/P1001/P1003 when there is none."""
    from keycliq_ops.standin import pgclient

    with contextlib.ExitStack() as stack:
        try:
            conn = stack.enter_context(pgclient.connect(ds.url, action="prisma"))
        except StandinError as exc:
            raise PrismaExit(_connect_error(ds, exc.message)) from None
        yield conn


def _connect_error(ds: Datasource, reason: str) -> str:
    if "password authentication failed" in reason or "[28P01]" in reason:
        return (
            f"Error: P1000: Authentication failed against database server at `{ds.server}`, "
            f"the provided database credentials for `{ds.user or 'postgres'}` are not valid.\n\n"
            f"Please make sure to provide valid database credentials for the database server "
            f"at `{ds.server}`."
        )
    if "does not exist" in reason and "database" in reason:
        return (
            f"Error: P1003: Database `{ds.database}` does not exist on the database server "
            f"at `{ds.server}`."
        )
    return (
        f"Error: P1001: Can't reach database server at `{ds.server}`\n\n"
        f"Please make sure your database server is running at `{ds.server}`."
    )


def db_error(exc: BaseException) -> tuple[str, str]:
    """(SQLSTATE, ``ERROR: message`` with its detail) of a database error."""
    sqlstate = str(getattr(exc, "sqlstate", None) or "")
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    message = primary or (str(exc).splitlines() or [type(exc).__name__])[0]
    text = f"ERROR: {message}"
    detail = getattr(diag, "message_detail", None) if diag is not None else None
    if detail:
        text += f"\nDETAIL: {detail}"
    return sqlstate, text


def is_db_error(exc: BaseException) -> bool:
    return hasattr(exc, "sqlstate") and hasattr(exc, "diag")
