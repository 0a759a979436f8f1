"""Database adapter: every connection keycliq opens to an app's PostgreSQL goes through here.

- ``connect`` opens a psycopg connection with a connect timeout, an ``application_name``,
  and (by default) a read-only session with ``statement_timeout`` and ``lock_timeout``.
- One bounded attempt for a database that has not answered yet: the first connection to a
  target in this process is tried once (``connect_timeout`` bounds it); connections started
  meanwhile by other threads (the Dataclip workers) wait for its outcome instead of knocking
  too. When it fails, every later ``connect`` to that target in the next
  :data:`UNREACHABLE_FOR` seconds fails at once with the same :class:`DatabaseError`
  (a checklist's seven Dataclip items and the gate do not each wait out a timeout). A
  target that answered before is retried (a few attempts, backoff) on transient failures,
  never on bad credentials.
- TLS is required for any host that is not local: ``sslmode`` becomes ``require`` unless the
  URL already asks for ``require``/``verify-ca``/``verify-full``; ``sslmode=disable`` towards a
  remote host is refused. Local means a unix socket, ``localhost``, ``127.0.0.1`` or ``::1``.
- ``Session`` is what the core uses: one connection, ``query`` runs one statement (values
  bound by the server as ``$1…$n``) in its own transaction that is always rolled back, and
  ``cancel`` stops a running statement from another thread. psycopg is imported nowhere else
  in the core.
- psycopg errors become :class:`keycliq_ops.base.errors.DatabaseError` (the connection failed)
  or its subclass :class:`~keycliq_ops.base.errors.QueryError` (the statement failed, the
  connection is still good). Their messages are built here and never contain the URL, the
  user name or the password (``describe`` gives a safe label: ``host:port/dbname``).
- ``database_url_of`` is the one place that reads an app's ``DATABASE_URL`` config var.

Example::

    with Session.open(url, statement_timeout_ms=5_000) as session:
        result = session.query("SELECT count(*) FROM keys WHERE id = $1", ["k1"])
    print(result.columns, result.rows)
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from keycliq_ops.base.errors import DatabaseError, QueryError, UsageError
from keycliq_ops.base.redact import Redactor

if TYPE_CHECKING:
    import psycopg

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_TLS_MODES = frozenset({"require", "verify-ca", "verify-full"})
# SQLSTATE classes that mean "the server or the connection", not "this statement".
_CONNECTION_CLASSES = ("08", "53", "57P", "58", "XX")
CONNECT_ATTEMPTS = 3
UNREACHABLE_FOR = 60.0  # seconds a failed target is answered from memory
CANCEL_TIMEOUT = 2.0  # seconds to wait for the server to acknowledge a cancel request


def _parse(url: str) -> dict[str, str]:
    """The URL's parameters; a malformed URL is a usage error that does not echo it."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    if not url or not url.strip():
        raise UsageError("the database URL is empty")
    try:
        params = conninfo_to_dict(url)
    except (ValueError, TypeError, psycopg.Error):  # ProgrammingError for a malformed URL
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


@dataclass
class _Target:
    """What this process knows of one database (keyed by its connection string)."""

    answered: bool = False
    failure: DatabaseError | None = None
    failed_at: float = 0.0
    trying: threading.Event | None = None


_targets: dict[str, _Target] = {}
_targets_lock = threading.Lock()


def forget_targets() -> None:
    """Forget which databases answered or failed (a new run in a long-lived process)."""
    with _targets_lock:
        _targets.clear()


def _claim(key: str) -> tuple[_Target, bool]:
    """The target's record and whether this caller makes the first attempt. Raises the
    remembered failure of a target that failed recently; waits while another thread
    makes the first attempt."""
    while True:
        with _targets_lock:
            target = _targets.setdefault(key, _Target())
            failure = target.failure
            if failure is not None and time.monotonic() - target.failed_at < UNREACHABLE_FOR:
                raise DatabaseError(
                    failure.message + " (earlier in this run; not tried again)",
                    hint=failure.hint,
                )
            if target.answered:
                return target, False
            if target.trying is None:
                target.trying = threading.Event()
                return target, True
            trying = target.trying
        trying.wait()


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
    reached, and :class:`UsageError` for a malformed URL. ``attempts`` applies to a database
    that answered before in this process; one that has not is tried once (see the module).
    """

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
    target, first = _claim(conninfo(url))
    if first:
        attempts = 1
    try:
        conn = _open(info, url, attempts, settings, autocommit=autocommit, read_only=read_only)
    except DatabaseError as exc:
        with _targets_lock:
            target.failure, target.failed_at = exc, time.monotonic()
        raise
    else:
        with _targets_lock:
            target.answered, target.failure = True, None
    finally:
        if first:
            with _targets_lock:
                assert target.trying is not None
                target.trying.set()
                target.trying = None
    return conn


def _open(
    info: str,
    url: str,
    attempts: int,
    settings: list[str],
    *,
    autocommit: bool,
    read_only: bool,
) -> psycopg.Connection[Any]:
    import psycopg

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


# --------------------------------------------------------------------------- the app's URL


def database_url_of(
    config_vars: Mapping[str, str | None] | Callable[[], Mapping[str, str | None]],
    app: str,
    explicit: str | None = None,
    *,
    flag: str | None = "--database-url",
) -> str:
    """The database to use: ``explicit`` when given, else the app's ``DATABASE_URL``.

    ``config_vars`` is the app's config vars, or a callable fetching them (called only when
    there is no ``explicit`` URL). An app without the var is a :class:`UsageError` whose hint
    names ``flag`` (the caller's way to give a URL; None when it has none).
    """
    if explicit:
        return explicit
    vars_ = config_vars() if callable(config_vars) else config_vars
    url = vars_.get("DATABASE_URL")
    if not url:
        raise UsageError(
            f"the app {app} has no DATABASE_URL config var",
            hint="attach Heroku Postgres to the app" + (f", or pass {flag}" if flag else ""),
        )
    return url


# --------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class QueryResult:
    """What one statement returned. ``columns`` is None when it returned no result set
    (not a query); ``rows`` holds at most the rows asked for, ``row_count`` all of them."""

    columns: list[str] | None
    rows: list[tuple[Any, ...]]
    row_count: int


def _primary(exc: BaseException, url: str) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    return _redactor(url)(primary) if primary else _reason(exc, url)


def query_error(exc: BaseException, url: str, action: str) -> QueryError:
    """A :class:`QueryError` for a statement's own failure (no secret in it)."""
    base = database_error(exc, url, action)
    return QueryError(
        base.message,
        sqlstate=getattr(exc, "sqlstate", None),
        detail=_primary(exc, url),
        hint=None,
    )


class DbSession:
    """One connection to an app's database (read-only by default), for one thread at a time;
    :meth:`cancel` may be called from any thread. Open it with :meth:`open`."""

    def __init__(self, url: str, conn: psycopg.Connection[Any]) -> None:
        self.url = url
        self._conn = conn

    @classmethod
    def open(
        cls,
        url: str,
        *,
        read_only: bool = True,
        statement_timeout_ms: int | None = 30_000,
        lock_timeout_ms: int | None = 5_000,
        connect_timeout: float = 10,
        attempts: int = CONNECT_ATTEMPTS,
        application_name: str = "keycliq",
        parallel_workers: int | None = None,
    ) -> DbSession:
        """Connect (see :func:`connect`); DatabaseError when the database cannot be reached."""
        conn = connect(
            url,
            read_only=read_only,
            statement_timeout_ms=statement_timeout_ms,
            lock_timeout_ms=lock_timeout_ms,
            connect_timeout=connect_timeout,
            attempts=attempts,
            application_name=application_name,
            parallel_workers=parallel_workers,
        )
        return cls(url, conn)

    @property
    def closed(self) -> bool:
        return bool(self._conn.closed)

    def query(
        self,
        sql: str,
        values: Sequence[Any] = (),
        *,
        max_rows: int | None = None,
        action: str = "running a query",
    ) -> QueryResult:
        """Run ``sql`` with ``values`` bound as ``$1…$n`` by the server, in a transaction that
        is rolled back afterwards; keep at most ``max_rows`` rows (None: all).

        Raises :class:`QueryError` when the statement fails (the session stays usable) and
        :class:`DatabaseError` when the connection is lost (it does not).
        """
        import psycopg

        conn = self._conn
        failed = False
        try:
            cur = psycopg.RawCursor(conn)
            cur.execute(sql, list(values))
            if cur.description is None:
                return QueryResult(columns=None, rows=[], row_count=max(cur.rowcount, 0))
            columns = [d.name for d in cur.description]
            row_count = max(cur.rowcount, 0)
            rows = cur.fetchall() if max_rows is None else cur.fetchmany(max_rows)
            return QueryResult(columns=columns, rows=list(rows), row_count=row_count)
        except psycopg.Error as exc:
            failed = True
            if is_connection_error(exc):
                raise database_error(exc, self.url, action) from None
            raise query_error(exc, self.url, action) from None
        finally:
            if not conn.closed and not conn.autocommit:
                try:
                    conn.rollback()
                except psycopg.Error as exc:
                    if not failed:
                        raise database_error(exc, self.url, action) from None

    def cancel(self, timeout: float = CANCEL_TIMEOUT) -> None:
        """Ask the server to stop the running statement; best effort (never raises)."""
        import psycopg

        if self._conn.closed:
            return
        # the connection is going away anyway: nothing left to stop if this fails
        with contextlib.suppress(psycopg.Error, OSError):
            self._conn.cancel_safe(timeout=timeout)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> DbSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# The planner's row estimate of tables (``-1``: never vacuumed or analyzed, PostgreSQL 14+).
ROW_ESTIMATES_SQL = """
SELECT c.relname, c.reltuples::bigint
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY($1::text[])
"""


def estimated_rows(session: DbSession, tables: Sequence[str]) -> dict[str, int | None]:
    """``{table: estimated rows}`` for those of ``tables`` that exist in the current schema
    (``pg_class.reltuples``: no scan); None for a table never analyzed. A table left out
    does not exist."""
    if not tables:
        return {}
    found = session.query(
        ROW_ESTIMATES_SQL,
        ["{" + ",".join(_array_item(t) for t in tables) + "}"],
        action="reading table sizes",
    )
    return {
        str(r[0]): (int(r[1]) if r[1] is not None and int(r[1]) >= 0 else None) for r in found.rows
    }


def _array_item(name: str) -> str:
    """One element of a PostgreSQL text-array literal, quoted."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
