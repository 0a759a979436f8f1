"""The database adapter: TLS for remote hosts, safe labels, secret-free errors."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from keycliq_ops.adapters import db
from keycliq_ops.base.errors import DatabaseError, QueryError, UsageError


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:p@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d1",
        "postgres://u:p@db.example.com/d1?sslmode=prefer",
        "postgresql://u:p@10.0.0.5/d1?sslmode=allow",
    ],
)
def test_remote_hosts_get_tls_required(url: str) -> None:
    assert conninfo_to_dict(db.conninfo(url))["sslmode"] == "require"
    assert not db.is_local(url)


def test_stricter_tls_modes_are_kept() -> None:
    info = db.conninfo("postgres://u:p@db.example.com/d1?sslmode=verify-full")
    assert conninfo_to_dict(info)["sslmode"] == "verify-full"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@localhost/d",
        "postgresql://postgres@127.0.0.1:5432/d",
        "postgresql://postgres@[::1]:5432/d",
        "postgresql://postgres@/d?host=/tmp/sock",
        "postgresql:///d",
    ],
)
def test_local_hosts_are_left_alone(url: str) -> None:
    assert db.is_local(url)
    assert "sslmode" not in conninfo_to_dict(db.conninfo(url))


def test_tls_disabled_towards_a_remote_host_is_refused_without_echoing_the_url() -> None:
    url = "postgres://u:hunter2secret@db.example.com/d1?sslmode=disable"
    with pytest.raises(UsageError, match="TLS is required") as info:
        db.conninfo(url)
    assert "hunter2secret" not in info.value.message


def test_malformed_url_is_a_usage_error_that_does_not_echo_it() -> None:
    with pytest.raises(UsageError) as info:
        db.conninfo("postgres://u:hunter2secret@db.example.com:notaport/x y z=")
    assert "hunter2secret" not in info.value.message
    with pytest.raises(UsageError, match="empty"):
        db.conninfo("  ")


def test_describe_names_host_port_db_and_nothing_else() -> None:
    assert db.describe("postgres://u:pw@db.example.com:5433/kc") == "db.example.com:5433/kc"
    assert db.describe("postgresql://postgres@/kc?host=/tmp/s") == "local socket/kc"


def test_connection_refused_is_a_database_error_after_retries() -> None:
    url = "postgresql://someone:hunter2secret@127.0.0.1:1/kc?connect_timeout=1"
    with pytest.raises(DatabaseError) as info:
        db.connect(url, attempts=2)
    assert "127.0.0.1:1/kc" in info.value.message
    assert "hunter2secret" not in info.value.message and "someone" not in info.value.message


def test_libpq_messages_are_scrubbed_of_user_password_and_url() -> None:
    url = "postgres://kcuser_x9:hunter2secret@db.example.com:5432/kc"
    exc = psycopg.OperationalError(
        'connection failed: connection to server at "db.example.com" (10.0.0.1), port 5432 '
        'failed: FATAL:  password authentication failed for user "kcuser_x9" '
        f"(tried {url})"
    )
    err = db.database_error(exc, url, "connecting to the database")
    assert err.message.startswith("connecting to the database (db.example.com:5432/kc) failed")
    assert "password authentication failed" in err.message
    for secret in ("hunter2secret", "kcuser_x9", url):
        assert secret not in err.message
    assert err.exit_code == 3


def test_bad_credentials_are_not_retried() -> None:
    auth = psycopg.OperationalError('FATAL:  password authentication failed for user "x"')
    refused = psycopg.OperationalError("connection refused")
    assert not db._transient(auth)
    assert db._transient(refused)


def test_sessions_are_read_only_with_timeouts(pg_url: str) -> None:
    with db.connect(pg_url, statement_timeout_ms=1234, lock_timeout_ms=567) as conn:
        row = conn.execute(
            "SELECT current_setting('transaction_read_only'), current_setting('statement_timeout'),"
            " current_setting('lock_timeout'), current_setting('application_name')"
        ).fetchone()
        assert row == ("on", "1234ms", "567ms", "keycliq")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE nope (x int)")


# -- sessions: the only way the core runs SQL ---------------------------------------------


def test_a_session_that_cannot_connect_is_a_database_error_with_the_password_masked() -> None:
    url = "postgresql://someone:hunter2secret@127.0.0.1:1/kc?connect_timeout=1"
    with pytest.raises(DatabaseError) as info:
        db.DbSession.open(url, attempts=1)
    err = info.value
    assert not isinstance(err, QueryError)
    assert err.exit_code == 3
    assert err.message.startswith("connecting to the database (127.0.0.1:1/kc) failed")
    for secret in ("hunter2secret", "someone", url):
        assert secret not in err.message and secret not in (err.hint or "")


def test_session_query_binds_values_on_the_server_and_rolls_back(pg_url: str) -> None:
    with db.DbSession.open(pg_url, statement_timeout_ms=4321) as session:
        got = session.query(
            "SELECT n, $1::text AS label FROM generate_series(1, 5) AS n ORDER BY n",
            ["o'brien; DROP TABLE x"],
            max_rows=2,
        )
        assert got.columns == ["n", "label"]
        assert got.rows == [(1, "o'brien; DROP TABLE x"), (2, "o'brien; DROP TABLE x")]
        assert got.row_count == 5
        assert len(session.query("SELECT generate_series(1, 7)").rows) == 7  # all by default
        setting = session.query("SELECT current_setting('statement_timeout')").rows
        assert setting == [("4321ms",)]
        none = session.query("SET LOCAL lock_timeout = 100")
        assert none.columns is None and none.rows == []
        assert not session.closed
    assert session.closed


def test_a_failing_statement_is_a_query_error_and_the_session_stays_usable(pg_url: str) -> None:
    password = conninfo_to_dict(pg_url).get("password")
    with db.DbSession.open(pg_url) as session:
        with pytest.raises(QueryError) as missing:
            session.query("SELECT * FROM no_such_table", action="running K")
        err = missing.value
        assert err.sqlstate == "42P01"
        assert 'relation "no_such_table" does not exist' in err.detail
        assert err.message.startswith("running K (") and "[42P01]" in err.message
        assert isinstance(err, DatabaseError) and err.exit_code == 3
        if password:
            assert str(password) not in err.message
        with pytest.raises(QueryError) as write:
            session.query("CREATE TABLE nope (x int)")
        assert write.value.sqlstate == "25006"  # read-only transaction
        assert session.query("SELECT 1").rows == [(1,)]


def test_cancel_stops_a_running_statement_from_another_thread(pg_url: str) -> None:
    import threading
    import time

    outcome: list[BaseException] = []
    session = db.DbSession.open(pg_url, application_name="keycliq cancel-test")

    def slow() -> None:
        try:
            session.query("SELECT pg_sleep(120)")
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    thread = threading.Thread(target=slow, daemon=True)
    thread.start()
    with psycopg.connect(pg_url, autocommit=True) as watcher:
        for _ in range(400):  # wait until the server runs it (no fixed sleep)
            active = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                "'keycliq cancel-test' AND state = 'active'"
            ).fetchone()
            if active and active[0]:
                break
            time.sleep(0.05)
    session.cancel()
    thread.join(60)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], QueryError)
    assert outcome[0].sqlstate == "57014"  # canceled
    assert session.query("SELECT 2").rows == [(2,)]
    session.close()
    session.cancel()  # closed: nothing to do, never raises


def test_database_url_of_is_the_one_lookup() -> None:
    url = "postgres://u:pw@db.example.com/kc"
    assert db.database_url_of({"DATABASE_URL": url}, "keycliq-staging") == url
    fetched: list[str] = []

    def fetch() -> dict[str, str | None]:
        fetched.append("yes")
        return {"DATABASE_URL": url}

    assert db.database_url_of(fetch, "keycliq-staging", "postgres://other/x") == (
        "postgres://other/x"
    )
    assert fetched == []  # an explicit URL asks nobody
    assert db.database_url_of(fetch, "keycliq-staging") == url and fetched == ["yes"]
    with pytest.raises(UsageError, match="the app keycliq-staging has no DATABASE_URL") as info:
        db.database_url_of({"NODE_ENV": "production"}, "keycliq-staging")
    assert info.value.hint == "attach Heroku Postgres to the app, or pass --database-url"
    with pytest.raises(UsageError) as no_flag:
        db.database_url_of({"DATABASE_URL": ""}, "keycliq-staging", flag=None)
    assert no_flag.value.hint == "attach Heroku Postgres to the app"
