"""The engine against a real PostgreSQL: seeded data, planted defects, safety, concurrency."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace

import psycopg
import pytest

from keycliq_ops.base.errors import DatabaseError, UsageError
from keycliq_ops.config.settings import DataclipSettings
from keycliq_ops.dataclips import Catalog, load_catalog, run_dataclips
from keycliq_ops.dataclips.clips import DataclipRun
from keycliq_ops.standin.pgembed import PostgresServer
from keycliq_ops.standin.sample.seed import (
    ASCENDING_INDEX,
    DEFECTS,
    DROPPED_INDEX,
    INVALID_INDEX,
    REORDERED_INDEX,
    UNKNOWN_MATCH_TYPE,
    seed,
)

GATE = ["E1", "E2", "E3", "E4", "F", "G", "H", "I"]

# Which check each planted defect must trip, and how (on clean data, which warns on nothing).
CAUGHT_BY = {
    "xor-both-null": ("E1", "fail", {"both_null": 1, "both_set": 0}),
    "xor-both-set": ("E1", "warn", {"both_null": 0, "both_set": 1}),
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
    "score-nan": (
        "E3",
        "fail",
        {
            "similarity_out_of_range": 1,
            "confidence_out_of_range": 0,
            "signature_confidence_out_of_range": 1,
        },
    ),
    "two-matchings-one-scan": (
        "E4",
        "fail",
        {"scans_with_several_matchings": 1, "matchings_of_another_user": 0},
    ),
    "matching-other-user": (
        "E4",
        "fail",
        {"scans_with_several_matchings": 0, "matchings_of_another_user": 1},
    ),
    "missing-index": ("F", "fail", {"rows": 1}),
    "index-wrong-order": ("F", "fail", {"rows": 1}),
    "index-ascending": ("F", "fail", {"rows": 1}),
    "invalid-index": ("F", "fail", {"rows": 1}),
    "unknown-match-type": ("G", "fail", {"unknown_matchings": 1, "possible_match": 0}),
    "stuck-pending-key": ("H", "fail", {"rows": 1}),
    "failed-signature": ("H", "warn", {"rows": 1}),
    "expired-tokens": ("I", "warn", {"stale": 3}),
}

# F's row for each index defect: (usual name, problem, what was found).
F_ROWS = {
    "missing-index": (DROPPED_INDEX, "missing", None),
    "index-wrong-order": (
        REORDERED_INDEX,
        "columns in another order or direction",
        f'{REORDERED_INDEX} ("createdAt", "keyId")',
    ),
    "index-ascending": (
        ASCENDING_INDEX,
        "columns in another order or direction",
        f'{ASCENDING_INDEX} ("userId", "createdAt")',
    ),
    "invalid-index": (INVALID_INDEX, "invalid", INVALID_INDEX),
}


def test_every_defect_has_a_check() -> None:
    assert set(CAUGHT_BY) == set(DEFECTS)


def test_clean_seeded_data_passes_every_shipped_check(pg_url: str, shipped: Catalog) -> None:
    summary = seed(pg_url)
    params = {"userId": summary.sample_user_id, "keyId": "cdeletedkey000000000000000"}
    run = run_dataclips(shipped, shipped.ids(), pg_url, params=params)
    verdicts = {r.id: r.verdict for r in run.results}
    assert verdicts == {
        "A": "info",
        "B": "pass",
        "C": "pass",
        "D": "info",
        "J": "pass",
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
    types = ("match_found", "possible_keys", "no_match", "possible_match", "other_types")
    assert c.numbers["matchings"] == sum(c.numbers[t] for t in types)
    d = run.result("D")
    assert d.row_count == 50 and len(d.rows) == 20 and d.truncated
    assert d.numbers == {"rows": 50}  # never row data


def _warnings(run: DataclipRun) -> dict[str, list[str]]:
    return {
        r.id: [e.actual or "" for e in r.expectations if e.status == "warn"]
        for r in run.results
        if r.verdict == "warn"
    }


def test_app_written_data_passes_the_gate_and_warns_with_counts_and_write_paths(
    pg_url: str, shipped: Catalog
) -> None:
    summary = seed(pg_url, mode="app")
    run = run_dataclips(
        shipped, shipped.ids(), pg_url, params={"userId": summary.sample_user_id, "keyId": "x"}
    )
    assert run.ok, [(r.id, r.verdict) for r in run.results if r.verdict in ("fail", "error")]
    assert {r.id: r.verdict for r in run.results if r.verdict not in ("pass", "info")} == {
        "E1": "warn",
        "E4": "warn",
        "H": "warn",
    }
    e1, e4 = run.result("E1"), run.result("E4")
    both_set = int(e1.numbers["both_set"])
    without = int(e4.numbers["scans_without_matching"])
    assert both_set > 0 and e1.numbers["both_null"] == 0
    assert without == e4.numbers["scans"] - e4.numbers["matchings"] > 0
    warned = _warnings(run)
    assert warned["E1"] == [
        f"both_set = {both_set}: a key created from an unmatched scan keeps that scan's id: "
        "the new-key form (app/routes/keys.$id.jsx) links the user's latest NO_MATCH scan and "
        'createKey (app/lib/keys.server.js) writes the signature with both "keyId" and '
        '"keyQueryId"'
    ]
    assert warned["E4"][0].startswith(f"scans_without_matching = {without}: a NO_MATCH")
    assert "saveMatchingResult (app/lib/matching.server.js)" in warned["E4"][0]
    # H lists only keys whose photo was added by an edit (never signed), none stuck
    h = run.result("H")
    assert {row[3] for row in h.rows} == {"photo added by an edit, never signed"}
    assert "updateKey" in warned["H"][0]
    # the deleted-key MATCH_FOUND rows keep their matched signature (normal mode)
    e2 = run.result("E2")
    assert e2.numbers["match_found_key_deleted"] == summary.deleted_key_matchings > 0
    assert e2.numbers["match_found_key_deleted_demo"] == 0
    c = run.result("C")
    assert c.numbers["scans_without_matching"] == c.numbers["scans"] - c.numbers["matchings"] > 0


def test_demo_mode_data_passes_the_gate_and_warns_on_possible_match(
    pg_url: str, shipped: Catalog
) -> None:
    summary = seed(pg_url, mode="demo")
    run = run_dataclips(
        shipped, shipped.ids(), pg_url, params={"userId": summary.sample_user_id, "keyId": "x"}
    )
    assert run.ok, [(r.id, r.verdict) for r in run.results if r.verdict in ("fail", "error")]
    assert {r.id: r.verdict for r in run.results if r.verdict not in ("pass", "info")} == {
        "G": "warn",
        "H": "warn",
    }
    g = run.result("G")
    possible = int(g.numbers["possible_match"])
    assert possible > 0 and g.numbers["unknown_matchings"] == 0
    warned = _warnings(run)
    assert warned["G"][0].startswith(f"possible_match = {possible}: written by the demo path")
    assert "app/utils/demoMode.server.js" in warned["G"][0]
    # demo MATCH_FOUND rows whose key was deleted have no matched signature: E2 counts them
    # apart by comparisonResult.mode instead of failing
    e2 = run.result("E2")
    assert e2.numbers["match_found_without_key"] == 0
    assert e2.numbers["match_found_key_deleted_demo"] == summary.deleted_key_matchings > 0
    assert e2.numbers["match_found_key_deleted"] == 0
    # H: the sample user's key created with a photo two hours ago ended failed (no OpenAI)
    h = run.result("H")
    assert [row[3] for row in h.rows] == ["signature failed"]
    c = run.result("C")
    assert c.numbers["possible_match"] > 0 and c.numbers["possible_keys"] == 0
    assert c.numbers["matchings"] == c.numbers["scans"]


@pytest.mark.parametrize("mode", ["app", "demo"])
@pytest.mark.parametrize("defect", sorted(set(CAUGHT_BY) - {"xor-both-set", "failed-signature"}))
# (both-set signatures and recent failures are what the app itself writes: not defects)
def test_each_defect_is_seen_on_app_written_data(
    pg_server: PostgresServer, shipped: Catalog, mode: str, defect: str
) -> None:
    check_id, verdict, numbers = CAUGHT_BY[defect]
    name = f"kc_{mode}_{defect.replace('-', '_')}_{os.getpid()}"
    url = pg_server.create_database(name)
    try:
        seed(url, mode=mode, defects=[defect])
        run = run_dataclips(shipped, GATE, url)
        failing = {r.id: r.verdict for r in run.results if r.verdict in ("fail", "error")}
        expected = {check_id: verdict} if verdict == "fail" else {}
        assert failing == expected
        result = run.result(check_id)
        broken = {e.text for e in result.expectations if e.status == verdict}
        if result.returns == "one-row":  # exactly the defect's own counts fail
            assert broken == {f"{c} = 0" for c, v in numbers.items() if v > 0}
        else:
            assert broken
    finally:
        pg_server.drop_database(name)


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
    if defect in F_ROWS:
        assert tuple(result.rows[0][2:]) == F_ROWS[defect]
    if defect == "unknown-match-type":
        assert result.rows[0][3] == f"{UNKNOWN_MATCH_TYPE} (1)"
    if verdict == "fail":  # the failing expectation says why, after the count
        broken = [e for e in result.expectations if e.status == "fail"]
        assert broken and all(e.note and e.actual and e.note in e.actual for e in broken)


def test_key_deletion_check_sees_what_is_left_of_a_key(pg_url: str, shipped: Catalog) -> None:
    summary = seed(pg_url, mode="app")
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            'SELECT "matchedKeyId", count(*) FROM key_matchings WHERE "matchedKeyId" IS NOT NULL '
            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
        ).fetchone()
        assert row is not None
        key_id, matchings = row

    def j() -> tuple[str, dict[str, float | int]]:
        result = run_dataclips(shipped, ["J"], pg_url, params={"keyId": str(key_id)}).result("J")
        return result.verdict, result.numbers

    assert j() == (
        "fail",
        {
            "key_rows": 1,
            "signatures_left": 1,
            "matchings_naming_it": matchings,
            "candidate_mentions": 0,
        },
    )
    with psycopg.connect(pg_url) as conn:  # what the app's deleteKey does
        conn.execute("DELETE FROM keys WHERE id = %s", (key_id,))
    verdict, after = j()
    assert verdict == "pass" and after["key_rows"] == after["matchings_naming_it"] == 0
    assert after["signatures_left"] == 0  # gone with the key (ON DELETE CASCADE)
    assert summary.sample_user_id  # the seeded database is the app's


def test_key_deletion_check_fails_when_the_foreign_keys_do_not_cascade(
    pg_url: str, shipped: Catalog
) -> None:
    seed(pg_url, mode="app")
    with psycopg.connect(pg_url) as conn:
        conn.execute('ALTER TABLE key_matchings DROP CONSTRAINT "key_matchings_matchedKeyId_fkey"')
        conn.execute('ALTER TABLE key_signatures DROP CONSTRAINT "key_signatures_keyId_fkey"')
        row = conn.execute(
            'SELECT "matchedKeyId" FROM key_matchings WHERE "matchedKeyId" IS NOT NULL '
            "ORDER BY id LIMIT 1"
        ).fetchone()
        assert row is not None
        conn.execute("DELETE FROM keys WHERE id = %s", (row[0],))
    run = run_dataclips(shipped, ["J"], pg_url, params={"keyId": str(row[0])})
    j = run.result("J")
    assert j.verdict == "fail" and j.numbers["key_rows"] == 0
    assert j.numbers["signatures_left"] == 1 and j.numbers["matchings_naming_it"] >= 1
    failed = [e.actual or "" for e in j.expectations if e.status == "fail"]
    assert any("ON DELETE SET NULL" in a for a in failed)


def test_d_shows_only_the_users_own_matchings_and_limits_scans(
    pg_url: str, shipped: Catalog
) -> None:
    summary = seed(pg_url, mode="app", defects=["matching-other-user"])
    other = summary.sample_user_id
    run = run_dataclips(shipped, ["D"], pg_url, params={"userId": other})
    d = run.result("D")
    assert d.row_count == 50  # 50 scans, each once (no scan has two own matchings)
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            'SELECT m."keyQueryId", q."userId" FROM key_matchings m '
            'JOIN key_queries q ON q.id = m."keyQueryId" WHERE m."userId" <> q."userId"'
        ).fetchone()
    assert row is not None
    # the planted matching (the sample user's, on user 2's scan) is not in user 2's history
    run2 = run_dataclips(shipped, ["D"], pg_url, params={"userId": str(row[1])})
    shown = {r[0]: r[2] for r in run2.result("D").rows}
    assert shown.get(str(row[0])) is None


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
    # The parser refuses each at load (tests/dataclips/test_readonly.py); run as Dataclips
    # made in code, past the parser, the read-only transaction still refuses them.
    seed(pg_url)
    before = _count(pg_url, "SELECT count(*) FROM keys")
    catalog = _custom(clip_dir, W7="SELECT count(*) AS n FROM keys")
    writes = {
        "W1": "DELETE FROM keys",
        "W2": "UPDATE keys SET name = 'gone'",
        "W3": "CREATE TABLE stolen (x int)",
        "W4": "WITH d AS (DELETE FROM keys RETURNING 1) SELECT count(*) FROM d",
        "W5": "INSERT INTO \"User\" (id, email, password) VALUES ('x', 'x@x', 'x') RETURNING id",
        "W6": "SELECT set_config('default_transaction_read_only', 'off', false)",
    }
    for check_id, query in writes.items():
        catalog.checks[check_id] = replace(catalog.get("W7"), id=check_id, query=query)
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
    # A syntax error is now the catalogue's (exit 2 at load, test_readonly.py); one the
    # server finds (an unknown column) is still the check's own error.
    catalog = _custom(
        clip_dir,
        S1="SELECT no_such_column FROM generate_series(1, 2) g",
        S2="SELECT count(*) FROM generate_series(1, 1000000000)",
        S3="-- expect: ok = 1\nSELECT 1 AS ok",
    )
    run = run_dataclips(
        catalog, ["S1", "S2", "S3"], pg_url, settings=DataclipSettings(statement_timeout_ms=100)
    )
    assert run.result("S1").verdict == "error"
    assert "no_such_column" in (run.result("S1").error or "")
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


# How often the test looks at pg_locks while it waits for the checks to queue up: a poll
# interval, not a timing anything depends on (the wait ends on what the server shows, or
# fails after a minute).
_POLL_SECONDS = 0.05


def _waiting_on_gate(conn: psycopg.Connection[tuple[object, ...]], expected: int) -> set[int]:
    """The backends waiting for the gate table's lock, once ``expected`` of them wait."""
    deadline = time.monotonic() + 60
    while True:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'relation'"
            " AND relation = 'dataclips_gate'::regclass AND NOT granted",
        ).fetchall()
        waiting = {int(str(r[0])) for r in rows}
        if len(waiting) >= expected or time.monotonic() > deadline:
            return waiting
        time.sleep(_POLL_SECONDS)


def test_checks_run_concurrently_on_separate_bounded_connections(pg_url: str, clip_dir) -> None:  # type: ignore[no-untyped-def]
    # Every check first reads a table the test holds locked: the checks in flight at once
    # are exactly the backends the server shows waiting for it (no clock involved).
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE dataclips_gate (x int)")
    body = (
        "-- returns: one-row\n"
        "SELECT pg_backend_pid() AS pid, (SELECT count(*) FROM dataclips_gate) AS n"
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

        with psycopg.connect(pg_url, autocommit=True) as gate, gate.transaction():
            gate.execute("LOCK TABLE dataclips_gate IN ACCESS EXCLUSIVE MODE")
            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            waiting = _waiting_on_gate(gate, concurrency)
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
