"""The read-only rule (issue 14, finding 7) and hostile files (finding 11, ``.sql``).

Each attack of the issue ran inside the read-only transaction on a privileged role:
``COPY … TO PROGRAM`` ran a shell command, ``COPY … TO`` wrote a file,
``pg_terminate_backend`` ended a live session. Now PostgreSQL's own parser decides, when the
catalogue loads: a refused check is a config error (exit 2) naming its file and line, and
nothing of it runs.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from keycliq_ops.base.errors import ConfigError
from keycliq_ops.config.settings import DataclipSettings
from keycliq_ops.dataclips import load_catalog, parse_dataclip, run_dataclips
from keycliq_ops.dataclips.fileformat import MAX_FILE_BYTES
from keycliq_ops.dataclips.readonly import function_refused, refusal

HEADER = "-- id: X1\n-- title: hostile\n"


def _clip(tmp_path: Path, sql: str, header: str = HEADER) -> Path:
    path = tmp_path / f"c{secrets.token_hex(4)}.sql"
    path.write_text(header + sql)
    return path


def _refused(tmp_path: Path, sql: str, header: str = HEADER) -> ConfigError:
    path = _clip(tmp_path, sql, header)
    with pytest.raises(ConfigError) as info:
        parse_dataclip(path)
    assert info.value.exit_code == 2
    assert info.value.location is not None and info.value.location.startswith(f"{path}:")
    return info.value


# ------------------------------------------------------------------ the issue's attacks


def test_the_issues_attacks_are_refused_at_load_and_never_run(tmp_path: Path, pg_url: str) -> None:
    victim = psycopg.connect(pg_url, autocommit=True)
    touched = tmp_path / "touched"
    written = tmp_path / "written.csv"
    attacks = {
        "A1": (f"COPY (SELECT 1) TO PROGRAM 'touch {touched}'", "COPY is refused"),
        "A2": (f"COPY (SELECT 1) TO '{written}'", "COPY is refused"),
        "A3": (
            f"SELECT pg_terminate_backend({victim.info.backend_pid}) AS t",
            "pg_terminate_backend() is refused",
        ),
        "A4": ("SELECT pg_cancel_backend(pg_backend_pid()) AS c", "pg_cancel_backend() is refused"),
        "A5": ("SELECT pg_reload_conf() AS r", "pg_reload_conf() is refused"),
        "A6": ("SELECT pg_read_file('postgresql.conf') AS f", "pg_read_file() is refused"),
    }
    for check_id, (sql, message) in attacks.items():
        folder = tmp_path / check_id
        folder.mkdir()
        path = folder / f"{check_id}.sql"
        path.write_text(f"-- id: {check_id}\n-- title: attack\n-- severity: low\n\n{sql}\n")
        with pytest.raises(ConfigError) as info:
            load_catalog(folder)
        assert info.value.location == f"{path}:5", check_id  # the line of the statement
        assert message in info.value.message, check_id
    assert not touched.exists() and not written.exists()
    assert victim.execute("SELECT 1").fetchone() == (1,)  # the live session is alive
    victim.close()


def test_list_and_run_exit_2_naming_the_file_and_run_nothing(cli, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    Path("keycliq.yaml").write_text("environments:\n  staging:\n    app: keycliq-staging\n")
    folder = Path("dataclips")  # the repository's catalogue, beside keycliq.yaml
    folder.mkdir()
    evil = folder / "Z1_evil.sql"
    evil.write_text("-- id: Z1\n-- title: evil\nSELECT 1 AS one,\n  pg_reload_conf() AS r\n")
    for args in (("dataclips", "list"), ("dataclips", "run", "A", "--database-url", pg_url)):
        result = cli(*args)
        assert result.code == 2, result
        assert "Z1_evil.sql:4" in result.stderr and "pg_reload_conf() is refused" in result.stderr
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'keycliq dataclips'"
        ).fetchone()
    assert rows == (0,)


# ---------------------------------------------------------------------- the rule itself

REFUSED = [
    ("WITH d AS (DELETE FROM keys RETURNING 1) SELECT count(*) FROM d", "DELETE inside"),
    ("WITH u AS (UPDATE keys SET name = 'x' RETURNING 1) SELECT 1", "UPDATE inside"),
    (
        "SELECT * FROM (SELECT 1) s WHERE EXISTS (WITH i AS (INSERT INTO t VALUES (1) "
        "RETURNING 1) SELECT 1 FROM i)",
        "INSERT inside",
    ),
    ("SELECT 1 AS x INTO stolen", "SELECT … INTO"),
    ("SELECT id FROM keys FOR UPDATE", "locking clause"),
    ("SELECT id FROM keys FOR SHARE SKIP LOCKED", "locking clause"),
    ("SELECT * FROM (SELECT id FROM keys FOR NO KEY UPDATE) s", "locking clause"),
    ("SELECT id FROM keys FOR KEY SHARE", "locking clause"),
    ("COPY keys TO STDOUT", "COPY is refused"),
    ("EXPLAIN ANALYZE SELECT 1", "EXPLAIN is refused"),
    ("SHOW data_directory", "SHOW is refused"),
    ("SET statement_timeout = 0", "SET is refused"),
    ("DELETE FROM keys", "DELETE is refused"),
    ("CREATE TABLE stolen (x int)", "CREATE is refused"),
    ("DO $$ BEGIN PERFORM 1; END $$", "DO is refused"),
    ("CALL p()", "CALL is refused"),
    ("ALTER SYSTEM SET fsync = off", "ALTER SYSTEM is refused"),
    ("SELEC 1", "cannot parse the SQL: syntax error"),
    ("SELECT pg_catalog.pg_sleep(1)", "pg_catalog.pg_sleep() is refused"),
    ('SELECT "pg_sleep"(1)', "pg_sleep() is refused"),
    ("SELECT PG_SLEEP_FOR('1s')", "pg_sleep_for() is refused"),
    ("SELECT * FROM pg_ls_dir('.')", "pg_ls_dir() is refused"),
    ("SELECT (pg_stat_file('PG_VERSION')).size", "pg_stat_file() is refused"),
    ("SELECT pg_read_binary_file('x')", "pg_read_binary_file() is refused"),
    ("SELECT lo_import('/etc/passwd')", "lo_import() is refused"),
    ("SELECT lo_export(1, '/tmp/x')", "lo_export() is refused"),
    ("SELECT loread(0, 1)", "loread() is refused"),
    ("SELECT pg_advisory_lock(1)", "pg_advisory_lock() is refused"),
    ("SELECT pg_advisory_xact_lock_shared(1)", "pg_advisory_xact_lock_shared() is refused"),
    ("SELECT pg_try_advisory_lock(1)", "pg_try_advisory_lock() is refused"),
    ("SELECT dblink_exec('x', 'DROP TABLE keys')", "dblink_exec() is refused"),
    ("SELECT set_config('default_transaction_read_only', 'off', false)", "set_config() is"),
    ("SELECT pg_switch_wal()", "pg_switch_wal() is refused"),
    ("SELECT pg_create_logical_replication_slot('s', 'p')", "pg_create_logical_replication"),
    ("SELECT pg_create_physical_replication_slot('s')", "pg_create_physical_replication"),
    ("SELECT pg_drop_replication_slot('s')", "pg_drop_replication_slot() is"),
    ("SELECT pg_rotate_logfile()", "pg_rotate_logfile() is refused"),
    ("SELECT pg_stat_reset()", "pg_stat_reset() is refused"),
    ("SELECT pg_notify('c', 'x')", "pg_notify() is refused"),
    ("SELECT query_to_xml('DELETE FROM keys', true, false, '')", "query_to_xml() is refused"),
    ("SELECT nextval('s')", "nextval() is refused"),
    # Hidden in every place an expression can be.
    ("SELECT 1 WHERE pg_terminate_backend(1)", "pg_terminate_backend() is"),
    ("SELECT 1 ORDER BY pg_cancel_backend(1)", "pg_cancel_backend() is"),
    ("SELECT 1 UNION ALL SELECT pg_reload_conf()::int", "pg_reload_conf() is"),
    ("SELECT ARRAY(SELECT pg_sleep(1))", "pg_sleep() is"),
    ("SELECT CASE WHEN true THEN pg_sleep(1) END", "pg_sleep() is"),
    ("WITH x AS (SELECT pg_sleep(1)) SELECT * FROM x", "pg_sleep() is"),
    ("SELECT * FROM ROWS FROM (pg_ls_dir('.')) AS d", "pg_ls_dir() is"),
    ("SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM keys", "pg_sleep() is"),
    ('SELECT U&"pg\\005fsleep"(1)', "pg_sleep() is refused"),  # the parser decodes it
]


@pytest.mark.parametrize(("sql", "message"), REFUSED)
def test_only_a_plain_select_is_accepted(tmp_path: Path, sql: str, message: str) -> None:
    error = _refused(tmp_path, sql + "\n")
    assert message in error.message
    assert error.location is not None and error.location.endswith(":3")
    assert "it was not run" in (error.hint or "")


def test_the_line_is_the_offending_one_after_comments_and_parameters(tmp_path: Path) -> None:
    header = "-- id: X1\n-- title: t\n-- param: userId text required\n"
    sql = (
        "/* a comment\n   of two lines */\n-- and one more\n"
        "SELECT k.id,\n       'é''s' AS label\n  FROM keys k\n"
        ' WHERE k."userId" = :userId\n   AND pg_sleep(0) IS NULL\n'
    )
    error = _refused(tmp_path, sql, header)
    assert error.location is not None and error.location.endswith(":11")


ACCEPTED = [
    "SELECT 1",
    "VALUES (1), (2)",
    "TABLE keys",
    "WITH a AS (SELECT 1 AS x), b AS MATERIALIZED (SELECT x FROM a) SELECT * FROM b",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    "SELECT lower('A'), pg_size_pretty(1), pg_get_indexdef(1), pg_backend_pid(), now()",
    "SELECT pg_stat_get_live_tuples(1), pg_relation_size(1), current_setting('x')",
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'",
    "SELECT 'pg_sleep(1)' AS text_not_call, 'COPY x TO PROGRAM' AS neither",
    "SELECT 1 -- pg_sleep(1) in a comment\n/* COPY x TO PROGRAM 'y' */",
]


@pytest.mark.parametrize("sql", ACCEPTED)
def test_reads_are_accepted(tmp_path: Path, sql: str) -> None:
    clip = parse_dataclip(_clip(tmp_path, sql + "\n"))
    assert refusal(clip.query) is None


def test_the_denylist_matches_names_and_prefixes_not_lookalikes() -> None:
    for name in ("pg_sleep", "PG_SLEEP_UNTIL", "lo_get", "dblink", "pg_try_advisory_xact_lock"):
        assert function_refused(name), name
    for name in ("lower", "lower_inc", "pg_size_pretty", "log", "pg_stat_get_numscans"):
        assert not function_refused(name), name


def test_the_shipped_catalogue_is_accepted() -> None:
    from keycliq_ops.config.loading import SHIPPED_DATACLIPS

    catalog = load_catalog(SHIPPED_DATACLIPS)
    assert len(catalog.ids()) >= 10
    assert all(refusal(c.query) is None for c in catalog.all())


# ---------------------------------------------- the second line: the read-only transaction


def test_the_read_only_transaction_still_stops_what_the_parser_cannot_see(
    tmp_path: Path, pg_url: str
) -> None:
    # A function of the database that writes passes the parser (its body is the database's):
    # the read-only transaction is what stops it.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (1)")
        conn.execute(
            "CREATE FUNCTION wipe() RETURNS bigint LANGUAGE sql AS "
            "$$ WITH d AS (DELETE FROM kept RETURNING 1) SELECT count(*) FROM d $$"
        )
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "W1.sql").write_text("-- id: W1\n-- title: writes in a function\nSELECT wipe()\n")
    catalog = load_catalog(folder)
    # And a write that skipped the parser altogether (a Dataclip made in code).
    bypass = replace(catalog.get("W1"), id="W2", query="DELETE FROM kept")
    catalog.checks["W2"] = bypass
    run = run_dataclips(catalog, ["W1", "W2"], pg_url, settings=DataclipSettings(concurrency=1))
    for check_id in ("W1", "W2"):
        r = run.result(check_id)
        assert r.verdict == "error", check_id
        assert r.error and "tried to write" in r.error and "nothing was written" in r.error
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (1,)


# ------------------------------------------------------------------ hostile files (11)


def test_a_file_of_200000_nested_comments_is_refused_by_size(tmp_path: Path) -> None:
    n = 200_000
    path = _clip(tmp_path, "SELECT 1 " + "/* " * n + "*/ " * n + ";\n")
    with pytest.raises(ConfigError) as info:
        parse_dataclip(path)
    assert info.value.location == str(path)
    assert f"larger than {MAX_FILE_BYTES:,} bytes" in info.value.message
    assert info.value.exit_code == 2


def test_deep_nested_comments_under_the_bound_parse_and_are_not_sent(tmp_path: Path) -> None:
    # '/*/*/*…*/*/*/' is the shape PostgreSQL's own scanner takes quadratic time on (the
    # parser here and the server alike): the file's comments never reach either.
    n = 120_000
    clip = parse_dataclip(_clip(tmp_path, "SELECT 1 AS one " + "/*" * n + "*/" * n + ";\n"))
    assert clip.query == "SELECT 1 AS one"
    assert clip.sql == "SELECT 1 AS one " + "/*" * n + "*/" * n + ";\n"  # kept for `show`
    unterminated = _refused(tmp_path, "SELECT 1\n" + "/*" * n + "*/" * (n - 1) + "\n")
    assert unterminated.location is not None and unterminated.location.endswith(":4")
    assert "unterminated /* comment" in unterminated.message


def test_comment_markers_inside_a_literal_take_linear_time(tmp_path: Path) -> None:
    # Before: the "no SQL after the header" test ran a lazy regex from every '/*' of the
    # text, literal or not (quadratic: minutes for this file).
    n = 100_000
    clip = parse_dataclip(_clip(tmp_path, "SELECT '" + "/* " * n + "' AS s\n"))
    assert clip.query.count("/*") == n


def test_a_long_header_takes_linear_time(tmp_path: Path) -> None:
    # Continuation lines are joined once, not copied line by line.
    lines = "".join(f"--   more words {i}\n" for i in range(40_000))
    header = "-- id: X1\n-- title: t\n-- description: start\n" + lines
    clip = parse_dataclip(_clip(tmp_path, "SELECT 1\n", header))
    assert clip.description.startswith("start more words 0 more words 1 ")
    assert clip.description.endswith("more words 39999")


def test_nesting_too_deep_for_the_parser_is_a_config_error(tmp_path: Path) -> None:
    for sql in ("SELECT " + "1+" * 30_000 + "1\n", "SELECT " + "(" * 20_000 + "1" + ")" * 20_000):
        error = _refused(tmp_path, sql)
        assert "nested too deeply" in error.message


def test_a_nul_byte_or_invalid_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "n.sql"
    path.write_bytes(HEADER.encode() + b"SELECT 1\x00; COPY x TO PROGRAM 'y'\n")
    with pytest.raises(ConfigError, match="NUL byte"):
        parse_dataclip(path)
    path.write_bytes(HEADER.encode() + b"SELECT '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_dataclip(path)
