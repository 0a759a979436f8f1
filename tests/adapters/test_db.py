"""The database adapter: TLS for remote hosts, safe labels, secret-free errors."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from keycliq_ops.adapters import db
from keycliq_ops.base.errors import DatabaseError, UsageError


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
