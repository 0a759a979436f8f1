"""The stand-in's one PostgreSQL client module: every psycopg use of the stand-in is here.

The stand-in creates and drops its apps' databases, seeds them and (for the demo) plants a
defect row; it does so through these few functions. (The sample app's release command talks
to its database through ``psql``; keycliq's own database access is
``keycliq_ops.adapters.db``, which the stand-in does not import.) psycopg errors become
:class:`~keycliq_ops.standin.failures.StandinError` (kind ``outside``) whose message names the
database as ``host:port/dbname`` and holds no user name or password.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from keycliq_ops.standin.failures import StandinError, redact_url

if TYPE_CHECKING:
    import psycopg

_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def describe(url: str) -> str:
    """A label safe to print: ``host:port/dbname`` (no user, no password)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or parse_qs(parts.query).get("host", [""])[0]
        port = parts.port
    except ValueError:
        return "(invalid database URL)"
    if not host or host.startswith("/"):
        host = "local socket"
    return f"{host}{f':{port}' if port else ''}/{parts.path.lstrip('/')}"


def _failure(exc: BaseException, url: str, action: str) -> StandinError:
    sqlstate = getattr(exc, "sqlstate", None)
    code = f" [{sqlstate}]" if sqlstate else ""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    reason = lines[0] if lines else type(exc).__name__
    if " failed: " in reason:  # libpq: 'connection to server at "h", port 5 failed: <why>'
        reason = reason.rsplit(" failed: ", 1)[1]
    secrets = [s for s in (urlsplit(url).password, urlsplit(url).username, url) if s]
    for secret in secrets:
        reason = reason.replace(secret, "•••")
    return StandinError(
        f"{action} ({describe(url)}) failed{code}: {redact_url(reason)}",
        hint="check that the stand-in's PostgreSQL runs (keycliq sandbox status)",
    )


@contextmanager
def connect(url: str, *, action: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to ``url``; a psycopg error inside becomes a StandinError."""
    import psycopg

    try:
        with psycopg.connect(
            url, autocommit=True, connect_timeout=10, application_name="keycliq-standin"
        ) as conn:
            yield conn
    except psycopg.Error as exc:
        raise _failure(exc, url, action) from None


def raw_execute(conn: psycopg.Connection[Any], statement: str, params: Sequence[Any]) -> None:
    """Run ``statement`` with server-side ``$1``-style parameters."""
    import psycopg

    psycopg.RawCursor(conn).execute(statement, params)


def try_replica_role(conn: psycopg.Connection[Any]) -> bool:
    """``SET LOCAL session_replication_role = replica`` when allowed (superuser only)."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def _check_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ValueError(f"bad database name {name!r}")


def create_database(admin_url: str, name: str, *, replace: bool = True) -> None:
    """Create (or re-create) database ``name`` on the server ``admin_url`` reaches."""
    from psycopg import sql

    _check_name(name)
    with connect(admin_url, action=f"creating database {name!r}") as conn:
        if replace:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def create_app_database(admin_url: str, name: str, password: str) -> None:
    """(Re-)create database ``name`` owned by a login role of the same name that is not a
    superuser and cannot create databases or roles: what Heroku Postgres gives an app."""
    from psycopg import sql

    _check_name(name)
    role = sql.Identifier(name)
    with connect(admin_url, action=f"creating database {name!r} and its role") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(role))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                "NOBYPASSRLS PASSWORD {}"
            ).format(role, sql.Literal(password))
        )
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(role, role))
        # On Heroku each app's database is a server of its own: no other app's role gets in.
        conn.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(role))


def drop_role(admin_url: str, name: str) -> None:
    from psycopg import sql

    _check_name(name)
    with connect(admin_url, action=f"dropping role {name!r}") as conn:
        # Its databases go first (a snapshot's template copies belong to it too).
        owned = conn.execute(
            "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba"
            " WHERE r.rolname = %s",
            (name,),
        ).fetchall()
        for (datname,) in owned:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(datname))
            )
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def drop_database(admin_url: str, name: str) -> None:
    from psycopg import sql

    _check_name(name)
    with connect(admin_url, action=f"dropping database {name!r}") as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def copy_database(admin_url: str, source: str, target: str) -> None:
    """(Re-)create database ``target`` as a template copy of ``source`` (fast)."""
    from psycopg import sql

    _check_name(source)
    _check_name(target)
    with connect(admin_url, action=f"copying database {source!r} to {target!r}") as conn:
        # A copy needs its source unused: end whatever session a test left open.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (source,),
        )
        # The copy keeps the owner the target had (an app's own role), else the source's.
        row = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname IN (%s, %s)"
            " ORDER BY datname = %s DESC LIMIT 1",
            (target, source, target),
        ).fetchone()
        owner = row[0] if row else None
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target))
        )
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(target), sql.Identifier(source)
        )
        if owner:
            create = sql.SQL("{} OWNER {}").format(create, sql.Identifier(owner))
        conn.execute(create)
        if owner and owner == target:  # an app's own database: its own role only
            conn.execute(
                sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(target))
            )
