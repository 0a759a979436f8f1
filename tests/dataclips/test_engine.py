"""The engine against a real PostgreSQL: seeded data, planted defects, safety, concurrency."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from keycliq_ops.base.errors import DatabaseError, UsageError
from keycliq_ops.config.settings import DataclipSettings
from keycliq_ops.dataclips import Catalog, load_catalog, run_dataclips
from keycliq_ops.dataclips.clips import DataclipRun
from keycliq_ops.standin.sample.seed import DEFECTS, DROPPED_INDEX, seed

GATE = ["E1", "E2", "E3", "F", "G", "H", "I"]

# Which check each planted defect must trip, and how.
CAUGHT_BY = {
    "xor-both-null": ("E1", "fail", {"both_null": 1, "both_set": 0}),
    "xor-both-set": ("E1", "fail", {"both_null": 0, "both_set": 1}),
    "match-found-without-key": (
        "E2",
        "fail",
        {"match_found_without_key": 1, "no_match_with_key": 0},
    ),
    "no-match-with-key": ("E2", "fail", {"match_found_without_key": 0, "no_match_with_key": 1}),
    "score-out-of-range": (
        "E3",
        "fail",
        {
            "similarity_out_of_range": 1,
            "confidence_out_of_range": 1,
            "signature_confidence_out_of_range": 1,
        },
    ),
    "missing-index": ("F", "fail", {"rows": 1}),
    "unknown-match-type": ("G", "fail", {"rows": 1}),
    "stuck-pending-key": ("H", "warn", {"rows": 1}),
    "failed-signature": ("H", "warn", {"rows": 1}),
    "expired-tokens": ("I", "warn", {"stale": 3}),
}


def test_every_defect_has_a_check() -> None:
    assert set(CAUGHT_BY) == set(DEFECTS)


def test_clean_seeded_data_passes_every_shipped_check(pg_url: str, shipped: Catalog) -> None:
    summary = seed(pg_url)
    run = run_dataclips(shipped, shipped.ids(), pg_url, params={"userId": summary.sample_user_id})
    verdicts = {r.id: r.verdict for r in run.results}
    assert verdicts == {
        "A": "info",
        "B": "pass",
        "C": "pass",
        "D": "info",
        **dict.fromkeys(GATE, "pass"),
    }
    assert run.ok and run.verdict == "pass"
    assert [r.id for r in run.results] == shipped.ids()  # in the order asked
    a = run.result("A")
    assert a.numbers["key_matchings"] == summary.counts["key_matchings"]
    assert a.numbers["users"] == summary.counts["User"]
    # E2 reports the deleted-key MATCH_FOUND rows apart, without failing on them.
    e2 = run.result("E2")
    assert e2.numbers["match_found_key_deleted"] == summary.deleted_key_matchings > 0
    assert e2.numbers["match_found_without_key"] == 0
    c = run.result("C")
    assert (
        c.numbers["matchings"]
        == c.numbers["match_found"] + c.numbers["possible_keys"] + c.numbers["no_match"]
    )
    d = run.result("D")
    assert d.row_count == 50 and len(d.rows) == 20 and d.truncated
    assert d.numbers == {"rows": 50}  # never row data


@pytest.mark.parametrize("defect", sorted(CAUGHT_BY))
def test_each_planted_defect_is_caught_by_its_check_alone(
    pg_url: str, shipped: Catalog, defect: str
) -> None:
    check_id, verdict, numbers = CAUGHT_BY[defect]
    seed(pg_url, defects=[defect])
    run = run_dataclips(shipped, GATE, pg_url)
    got = {r.id: r.verdict for r in run.results}
    assert got == {**dict.fromkeys(GATE, "pass"), check_id: verdict}
    result = run.result(check_id)
    for name, value in numbers.items():
        assert result.numbers[name] == value, name
    assert run.ok is (verdict == "warn")
    if result.returns == "rows":
        assert len(result.rows) == result.row_count == 1  # the failing rows, as samples
    if defect == "missing-index":
        assert result.rows[0][2] == DROPPED_INDEX
    if defect == "unknown-match-type":
        assert result.rows[0][0] == "POSSIBLE_MATCH"


def _custom(clip_dir, **bodies: str) -> Catalog:  # type: ignore[no-untyped-def]
    for check_id, body in bodies.items():
        clip_dir(check_id, f"-- id: {check_id}\n-- title: custom {check_id}\n{body}\n")
    return load_catalog(clip_dir.folder)


def _count(url: str, sql: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_writes_are_refused_and_nothing_changes(pg_url: str, clip_dir) -> None:  # type: ignore[no-untyped-def]
    seed(pg_url)
    before = _count(pg_url, "SELECT count(*) FROM keys")
    catalog = _custom(
        clip_dir,
        W1="DELETE FROM keys",
        W2="UPDATE keys SET name = 'gone'",
        W3="CREATE TABLE stolen (x int)",
        W4="WITH d AS (DELETE FROM keys RETURNING 1) SELECT count(*) FROM d",
        W5="INSERT INTO \"User\" (id, email, password) VALUES ('x', 'x@x', 'x') RETURNING id",
        W6="SELECT set_config('default_transaction_read_only', 'off', false)",
        W7="SELECT count(*) AS n FROM keys",
    )
    run = run_dataclips(
        catalog,
        ["W1", "W2", "W3", "W4", "W5", "W6", "W7"],
        pg_url,
        settings=DataclipSettings(concurrency=1),
    )
    for check_id in ("W1", "W2", "W3", "W4", "W5"):
        r = run.result(check_id)
        assert r.verdict == "error", check_id
        assert r.error and "tried to write" in r.error and "nothing was written" in r.error
    # W6 changed a setting inside its own transaction; the rollback undid it for W7.
    assert run.result("W7").verdict == "info"
    assert run.verdict == "error" and not run.ok
    assert _count(pg_url, "SELECT count(*) FROM keys") == before
    assert _count(pg_url, "SELECT count(*) FROM keys WHERE name = 'gone'") == 0
    assert _count(pg_url, "SELECT to_regclass('stolen') IS NULL") is True
    assert _count(pg_url, "SELECT count(*) FROM \"User\" WHERE id = 'x'") == 0


def test_a_quote_laden_param_is_data_not_sql(pg_url: str, shipped: Catalog) -> None:
    seed(pg_url)
    evil = "x'; DROP TABLE keys; --"
    run = run_dataclips(shipped, ["B", "C"], pg_url, params={"userId": evil})
    b = run.result("B")
    assert b.verdict == "fail"  # no such user: the value was compared, not executed
    assert b.numbers["user_found"] == 0 and b.numbers["total"] == 0
    assert _count(pg_url, "SELECT to_regclass('keys') IS NOT NULL") is True
    assert _count(pg_url, "SELECT count(*) FROM keys") > 0


def test_syntax_error_and_timeout_are_the_checks_error_not_the_runs(pg_url: str, clip_dir) -> None:  # type: ignore[no-untyped-def]
    catalog = _custom(
        clip_dir,
        S1="SELEC 1",
        S2="SELECT pg_sleep(5)",
        S3="-- expect: ok = 1\nSELECT 1 AS ok",
    )
    run = run_dataclips(
        catalog, ["S1", "S2", "S3"], pg_url, settings=DataclipSettings(statement_timeout_ms=100)
    )
    assert run.result("S1").verdict == "error"
    assert "syntax error" in (run.result("S1").error or "")
    assert run.result("S2").verdict == "error"
    assert "statement_timeout after 100 ms" in (run.result("S2").error or "")
    assert run.result("S3").verdict == "pass"


def test_failing_rows_are_sampled_up_to_twenty(pg_url: str, clip_dir) -> None:  # type: ignore[no-untyped-def]
    catalog = _custom(
        clip_dir,
        R1="-- expect: rows = 0\nSELECT g AS n FROM generate_series(1, 50) g",
        R2="-- expect: every n <= 45\nSELECT g AS n FROM generate_series(1, 50) g",
        R3="-- expect: x = 1\nSELECT 1 AS x WHERE false",
    )
    run = run_dataclips(catalog, ["R1", "R2", "R3"], pg_url)
    r1 = run.result("R1")
    assert (r1.verdict, r1.row_count, len(r1.rows), r1.truncated) == ("fail", 50, 20, True)
    assert r1.numbers == {"rows": 50}
    r2 = run.result("R2")
    assert r2.verdict == "fail"
    assert r2.rows == [[46], [47], [48], [49], [50]] and not r2.truncated
    r3 = run.result("R3")
    assert r3.verdict == "error"
    assert r3.expectations[0].detail == "expected exactly one row, got 0"


def test_params_are_typed_defaulted_and_required(pg_url: str, clip_dir) -> None:  # type: ignore[no-untyped-def]
    catalog = _custom(
        clip_dir,
        P1="-- param: n integer optional default=7\n-- param: s text required\n"
        "-- returns: one-row\nSELECT :n + 1 AS n1, :s AS s, pg_typeof(:n)::text AS t",
    )
    run = run_dataclips(catalog, ["P1"], pg_url, params={"s": "hello"})
    assert run.result("P1").rows[0][:2] == [8, "hello"]  # the default 7 was bound as a number
    run = run_dataclips(catalog, ["P1"], pg_url, params={"s": "x", "n": "41"})
    assert run.result("P1").rows[0][0] == 42
    with pytest.raises(UsageError, match="needs the parameter s"):
        run_dataclips(catalog, ["P1"], pg_url)
    with pytest.raises(UsageError, match="'seven' is not a valid integer"):
        run_dataclips(catalog, ["P1"], pg_url, params={"s": "x", "n": "seven"})
    with pytest.raises(UsageError, match="--param userid: no selected Dataclip takes it"):
        run_dataclips(catalog, ["P1"], pg_url, params={"s": "x", "userid": "1"}, strict_params=True)


def test_unknown_id_is_a_usage_error_before_connecting(shipped: Catalog) -> None:
    with pytest.raises(UsageError, match="unknown Dataclip 'E9'"):
        run_dataclips(shipped, ["E1", "E9"], "postgresql://u:pw@127.0.0.1:1/db")
    with pytest.raises(UsageError, match="needs the parameter userId"):
        run_dataclips(shipped, ["B"], "postgresql://u:pw@127.0.0.1:1/db")


def test_unreachable_database_is_a_database_error_without_secrets(shipped: Catalog) -> None:
    url = "postgresql://keycliq_user:s3cretPassw0rd@127.0.0.1:1/keycliq?connect_timeout=1"
    with pytest.raises(DatabaseError) as info:
        run_dataclips(shipped, ["A", "E1"], url)
    text = f"{info.value.message} {info.value.hint}"
    assert "127.0.0.1:1/keycliq" in text
    assert "s3cretPassw0rd" not in text and "keycliq_user" not in text
    assert info.value.exit_code == 3


_GATE = 4242  # the advisory lock key the concurrency test holds its checks on
# How often the test looks at pg_locks while it waits for the checks to queue up: a poll
# interval, not a timing anything depends on (the wait ends on what the server shows, or
# fails after a minute).
_POLL_SECONDS = 0.05


def _waiting_on_gate(conn: psycopg.Connection[tuple[object, ...]], expected: int) -> set[int]:
    """The backends waiting for the gate lock, once ``expected`` of them wait at once."""
    deadline = time.monotonic() + 60
    while True:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND NOT granted",
            (_GATE,),
        ).fetchall()
        waiting = {int(str(r[0])) for r in rows}
        if len(waiting) >= expected or time.monotonic() > deadline:
            return waiting
        time.sleep(_POLL_SECONDS)


def test_checks_run_concurrently_on_separate_bounded_connections(pg_url: str, clip_dir) -> None:  # type: ignore[no-untyped-def]
    # Every check first waits for an advisory lock the test holds: the checks in flight at
    # once are exactly the backends the server shows waiting for it (no clock involved).
    body = (
        "-- returns: one-row\n"
        f"SELECT pg_backend_pid() AS pid FROM pg_advisory_xact_lock_shared({_GATE})"
    )
    catalog = _custom(clip_dir, **{f"K{i}": body for i in range(4)})
    ids = [f"K{i}" for i in range(4)]
    patient = {"lock_timeout_ms": 120_000, "statement_timeout_ms": 120_000}

    def in_flight(concurrency: int) -> tuple[set[int], set[int]]:
        """(the connections the checks ran on, the checks seen waiting at once)."""
        settings = DataclipSettings(concurrency=concurrency, **patient)
        runs: list[DataclipRun] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                runs.append(run_dataclips(catalog, ids, pg_url, settings=settings))
            except BaseException as exc:
                errors.append(exc)

        with psycopg.connect(pg_url, autocommit=True) as gate:
            gate.execute("SELECT pg_advisory_lock(%s)", (_GATE,))
            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            waiting = _waiting_on_gate(gate, concurrency)
            gate.execute("SELECT pg_advisory_unlock(%s)", (_GATE,))
        worker.join(timeout=120)
        assert not errors and len(runs) == 1, errors
        rows = [runs[0].result(i).rows[0] for i in ids]
        return {int(str(r[0])) for r in rows}, waiting

    pids, waiting = in_flight(2)
    assert len(pids) == 2 and waiting == pids  # two connections, both busy at once
    pids, waiting = in_flight(4)
    assert len(pids) == 4 and waiting == pids  # four connections, all four at once
    pids, waiting = in_flight(1)
    assert len(pids) == 1 and waiting == pids  # one connection, one check at a time
