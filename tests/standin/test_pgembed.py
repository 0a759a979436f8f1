from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from keycliq_ops.standin.failures import StandinError
from keycliq_ops.standin.pgembed import PostgresServer, start_postgres


def test_fresh_database_is_usable_and_empty(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        (count,) = conn.execute(
            "select count(*) from information_schema.tables where table_schema='public'"
        ).fetchone()  # type: ignore[misc]
    assert count == 0


def test_each_database_is_separate(pg_server: PostgresServer) -> None:
    a = pg_server.create_database("kc_sep_a")
    b = pg_server.create_database("kc_sep_b")
    try:
        with psycopg.connect(a, autocommit=True) as conn:
            conn.execute("create table only_in_a (x int)")
        with psycopg.connect(b) as conn:
            row = conn.execute("select to_regclass('only_in_a')").fetchone()
        assert row == (None,)
    finally:
        pg_server.drop_database("kc_sep_a")
        pg_server.drop_database("kc_sep_b")


def test_explicit_url_wins(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KC_X_URL", "postgresql://u@127.0.0.1:1/db")
    server = start_postgres(tmp_path, url_env="KC_X_URL")
    assert server.kind == "external"
    assert server.url_for("other").endswith("/other")


def test_bad_database_name_is_refused(pg_server: PostgresServer) -> None:
    with pytest.raises(ValueError, match="bad database name"):
        pg_server.create_database("x; drop")


def test_unreachable_server_is_a_database_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = PostgresServer(
        admin_url="postgresql://u@127.0.0.1:1/db?connect_timeout=1", kind="external"
    )
    with pytest.raises(StandinError) as failed:
        server.create_database("kc_never")
    assert failed.value.kind == "outside"
    assert "127.0.0.1:1/db" in failed.value.message and "u@" not in failed.value.message


def test_a_long_data_folder_gets_a_short_socket_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pgserver's socket must fit a Unix socket path: with a data folder too long for one and
    no XDG_RUNTIME_DIR (platformdirs would fall back to $TMPDIR, as long), a short one."""
    from keycliq_ops.standin.pgembed import _short_runtime_dir

    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    _short_runtime_dir(Path("/tmp/pg"))  # short enough: left alone
    assert "XDG_RUNTIME_DIR" not in os.environ
    deep = tmp_path / ("x" * 60) / ("y" * 60) / "pgdata"
    _short_runtime_dir(deep)
    short = Path(os.environ["XDG_RUNTIME_DIR"])
    assert short.is_dir() and short.stat().st_uid == os.getuid()
    assert short.stat().st_mode & 0o777 == 0o700
    assert len(str(short / "0123456789" / ".s.PGSQL.5432")) < 100
