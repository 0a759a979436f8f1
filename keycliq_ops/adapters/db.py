"""Database adapter: every connection keycliq opens to an app's PostgreSQL goes through here.

- ``connect`` opens a psycopg connection with a connect timeout, a few retries with
  backoff on transient failures (never on bad credentials), an ``application_name``, and
  (by default) a read-only session with ``statement_timeout`` and ``lock_timeout``.
- TLS is required for any host that is not local: ``sslmode`` becomes ``require`` unless the
  URL already asks for ``require``/``verify-ca``/``verify-full``; ``sslmode=disable`` towards a
  remote host is refused. Local means a unix socket, ``localhost``, ``127.0.0.1`` or ``::1``.
- psycopg errors become :class:`keycliq_ops.base.errors.DatabaseError`. Their messages are built
  here and never contain the URL, the user name or the password (``describe`` gives a safe
  label: ``host:port/dbname``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keycliq_ops.base.errors import DatabaseError, UsageError
from keycliq_ops.base.redact import Redactor

if TYPE_CHECKING:
    import psycopg

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_TLS_MODES = frozenset({"require", "verify-ca", "verify-full"})
# SQLSTATE classes that mean "the server or the connection", not "this statement".
_CONNECTION_CLASSES = ("08", "53", "57P", "58", "XX")
CONNECT_ATTEMPTS = 3


def _parse(url: str) -> dict[str, str]:
    """The URL's parameters; a malformed URL is a usage error that does not echo it."""
    from psycopg.conninfo import conninfo_to_dict

    if not url or not url.strip():
        raise UsageError("the database URL is empty")
    try:
        params = conninfo_to_dict(url)
    except Exception:
        raise UsageError(
            "the database URL is not a valid PostgreSQL URL (value not shown)",
            hint="expected postgres://USER:PASSWORD@HOST:PORT/DBNAME",
        ) from None
    return {k: str(v) for k, v in params.items() if v is not None}


def _hosts(params: dict[str, str]) -> list[str]:
    raw = params.get("host") or params.get("hostaddr") or ""
    return [h.strip() for h in raw.split(",")] if raw else [""]


def is_local_host(host: str | None) -> bool:
    """A unix socket (empty or absolute path) or a loopback name/address."""
    if not host:
        return True
    return host.startswith("/") or host.startswith("@") or host.lower() in LOCAL_HOSTS


def is_local(url: str) -> bool:
    """Whether every host the URL names is local (socket or loopback)."""
    return all(is_local_host(h) for h in _hosts(_parse(url)))


def describe(url: str) -> str:
    """A label safe to print or store: ``host:port/dbname`` (no user, no password)."""
    try:
        params = _parse(url)
    except UsageError:
        return "(invalid database URL)"
    hosts = _hosts(params)
    host = ",".join(h if h and not h.startswith("/") else "local socket" for h in hosts)
    port = params.get("port")
    db = params.get("dbname", "")
    return f"{host}{':' + port if port else ''}/{db}"


def conninfo(url: str, **overrides: Any) -> str:
    """The connection string to use: ``url`` with TLS enforced for non-local hosts."""
    from psycopg.conninfo import make_conninfo

    params: dict[str, Any] = dict(_parse(url))
    if not all(is_local_host(h) for h in _hosts(params)):
        mode = params.get("sslmode", "")
        if mode == "disable":
            raise UsageError(
                f"TLS is required for the database at {describe(url)}, "
                "but the URL says sslmode=disable",
                hint="remove sslmode=disable from the URL (Heroku Postgres requires TLS)",
            )
        if mode not in _TLS_MODES:
            params["sslmode"] = "require"
    params.update({k: v for k, v in overrides.items() if v is not None})
    return make_conninfo("", **params)


def _redactor(url: str) -> Redactor:
    try:
        params = _parse(url)
    except UsageError:
        params = {}
    return Redactor([url, params.get("password"), params.get("user")])


def _reason(exc: BaseException, url: str) -> str:
    """The useful line of a psycopg/libpq message, with every secret scrubbed."""
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = lines[0] if lines else type(exc).__name__
    # libpq: 'connection failed: connection to server at "h", port 5 failed: <why>'
    if " failed: " in line:
        line = line.rsplit(" failed: ", 1)[1]
    return _redactor(url)(line)


def is_connection_error(exc: BaseException) -> bool:
    """A psycopg error that means the server or the connection failed (not the statement)."""
    import psycopg

    if isinstance(exc, psycopg.InterfaceError):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate is None:
        return isinstance(exc, psycopg.OperationalError)
    return bool(sqlstate.startswith(_CONNECTION_CLASSES))


def database_error(exc: BaseException, url: str, action: str) -> DatabaseError:
    """A :class:`DatabaseError` for ``exc`` that names the target but holds no secret."""
    sqlstate = getattr(exc, "sqlstate", None)
    code = f" [{sqlstate}]" if sqlstate else ""
    return DatabaseError(
        f"{action} ({describe(url)}) failed{code}: {_reason(exc, url)}",
        hint="check that the database is reachable and the URL is current "
        "(Heroku rotates DATABASE_URL credentials)",
    )


def _transient(exc: Exception) -> bool:
    import psycopg

    if not isinstance(exc, psycopg.OperationalError):
        return False
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate is not None:
        # 28xxx (auth) and 3D000 (no such database) will not fix themselves.
        return bool(sqlstate.startswith(("08", "53", "57P")))
    text = str(exc).lower()
    return not any(
        s in text for s in ("authentication", "password", "does not exist", "role", "ssl")
    )


def connect(
    url: str,
    *,
    read_only: bool = True,
    statement_timeout_ms: int | None = 30_000,
    lock_timeout_ms: int | None = 5_000,
    connect_timeout: float = 10,
    attempts: int = CONNECT_ATTEMPTS,
    autocommit: bool = False,
    application_name: str = "keycliq",
    parallel_workers: int | None = None,
) -> psycopg.Connection[Any]:
    """Open a connection; its session is read-only with the given timeouts.

    The session settings are applied with one round trip right after connecting (``SET``
    outside a transaction, so a check that changes them inside its own transaction gets them
    back on ``ROLLBACK``). Raises :class:`DatabaseError` (exit 3) when the database cannot be
    reached after ``attempts`` tries, and :class:`UsageError` for a malformed URL.
    """
    import time

    import psycopg

    info = conninfo(
        url, connect_timeout=max(1, round(connect_timeout)), application_name=application_name
    )
    settings: list[str] = []
    if statement_timeout_ms is not None:
        settings.append(f"SET statement_timeout = {int(statement_timeout_ms)}")
    if lock_timeout_ms is not None:
        settings.append(f"SET lock_timeout = {int(lock_timeout_ms)}")
    if parallel_workers is not None:
        settings.append(f"SET max_parallel_workers_per_gather = {int(parallel_workers)}")
    if read_only:
        settings.append("SET default_transaction_read_only = on")
    try:
        delay = 0.2
        for attempt in range(1, max(1, attempts) + 1):
            try:
                conn = psycopg.connect(info, autocommit=True)
                break
            except psycopg.OperationalError as exc:
                if attempt >= attempts or not _transient(exc):
                    raise
                time.sleep(delay)  # back off: 0.2 s, 0.4 s, … (at most 2 s)
                delay = min(delay * 2, 2.0)
        try:
            if settings:
                conn.execute("; ".join(settings))
            conn.autocommit = autocommit
            if read_only:
                conn.read_only = True
        except BaseException:
            conn.close()
            raise
    except psycopg.Error as exc:
        raise database_error(exc, url, "connecting to the database") from None
    return conn
