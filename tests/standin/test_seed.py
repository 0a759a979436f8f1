"""The sample-data seeder: realistic, deterministic, and able to plant each defect."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest

from keycliq_ops.standin.failures import StandinError
from keycliq_ops.standin.sample.seed import (
    ASCENDING_INDEX,
    DEFECTS,
    DROPPED_INDEX,
    REORDERED_INDEX,
    UNKNOWN_MATCH_TYPE,
    apply_schema,
    sample_user_id,
    seed,
)

NOW = datetime(2025, 3, 1, 12, 0, 0)


def _one(url: str, sql: str, *params: object) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def _fingerprint(url: str) -> list[object]:
    """An order-independent digest of every table's content."""
    out = []
    with psycopg.connect(url) as conn:
        for table in (
            '"User"',
            '"PasswordResetToken"',
            "keys",
            "key_signatures",
            "key_queries",
            "key_matchings",
        ):
            row = conn.execute(
                f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t"
            ).fetchone()
            out.append(row)
    return out


def test_apply_schema_creates_tables_and_seven_indexes_once(pg_url: str) -> None:
    assert apply_schema(pg_url) is True
    assert apply_schema(pg_url) is False
    count = _one(
        pg_url,
        "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE '%%_idx'",
    )
    assert count == 7


def test_clean_seed_has_realistic_rows(pg_url: str) -> None:
    summary = seed(pg_url, scale=1, now=NOW)
    assert summary.counts["User"] == 10
    assert summary.counts["keys"] == 100
    assert summary.counts["key_queries"] >= 1000
    assert summary.counts["key_matchings"] >= 1000
    assert summary.defects == ()
    uid = summary.sample_user_id
    assert uid == sample_user_id(0)
    statuses = _one(
        pg_url,
        'SELECT array_agg(DISTINCT "sigStatus" ORDER BY "sigStatus") FROM keys WHERE "userId" = %s',
        uid,
    )
    assert statuses == ["failed", "pending", "ready"]
    types = _one(
        pg_url,
        'SELECT array_agg(DISTINCT "matchType" ORDER BY "matchType") FROM key_matchings '
        'WHERE "userId" = %s',
        uid,
    )
    assert types == ["MATCH_FOUND", "NO_MATCH", "POSSIBLE_KEYS"]
    # Every signature row is XOR-correct; ready keys each have one.
    assert (
        _one(
            pg_url,
            'SELECT count(*) FROM key_signatures WHERE ("keyId" IS NULL) = ("keyQueryId" IS NULL)',
        )
        == 0
    )
    assert (
        _one(
            pg_url,
            "SELECT count(*) FROM keys k WHERE \"sigStatus\" = 'ready' AND NOT EXISTS "
            '(SELECT 1 FROM key_signatures s WHERE s."keyId" = k.id)',
        )
        == 0
    )
    # MATCH_FOUND rows whose key was deleted keep their matched signature (the known case),
    # including the two whose key was really deleted through ON DELETE SET NULL.
    assert summary.deleted_key_matchings > 2
    assert (
        _one(
            pg_url,
            "SELECT count(*) FROM key_matchings WHERE \"matchType\" = 'MATCH_FOUND' "
            'AND "matchedKeyId" IS NULL AND "matchedSignature" IS NULL',
        )
        == 0
    )
    assert (
        _one(
            pg_url,
            "SELECT count(*) FROM key_matchings WHERE \"matchType\" = 'NO_MATCH' "
            'AND "matchedKeyId" IS NOT NULL',
        )
        == 0
    )
    assert _one(pg_url, "SELECT min(least(similarity, confidence)) >= 0 FROM key_matchings")
    assert _one(pg_url, "SELECT max(greatest(similarity, confidence)) <= 1 FROM key_matchings")
    # Tokens: active, recently expired and recently used; none stale.
    kinds = _one(
        pg_url,
        "SELECT array_agg(DISTINCT CASE WHEN used THEN 'used' WHEN \"expiresAt\" < %s "
        "THEN 'expired' ELSE 'active' END) FROM \"PasswordResetToken\"",
        NOW,
    )
    assert sorted(kinds) == ["active", "expired", "used"]  # type: ignore[arg-type]


def test_seed_is_deterministic(pg_server) -> None:  # type: ignore[no-untyped-def]
    urls = [pg_server.create_database(f"kc_det_{n}") for n in range(3)]
    try:
        seed(urls[0], now=NOW, seed=7, defects=["xor-both-set"])
        seed(urls[1], now=NOW, seed=7, defects=["xor-both-set"])
        seed(urls[2], now=NOW, seed=8, defects=["xor-both-set"])
        assert _fingerprint(urls[0]) == _fingerprint(urls[1])
        assert _fingerprint(urls[0]) != _fingerprint(urls[2])
    finally:
        for n in range(3):
            pg_server.drop_database(f"kc_det_{n}")


_MATCH = "SELECT count(*) FROM key_matchings WHERE "
_SIG = "SELECT count(*) FROM key_signatures WHERE "
PLANTED = {
    "xor-both-null": _SIG + '"keyId" IS NULL AND "keyQueryId" IS NULL',
    "xor-both-set": _SIG + '"keyId" IS NOT NULL AND "keyQueryId" IS NOT NULL',
    "match-found-without-key": _MATCH
    + '"matchType" = \'MATCH_FOUND\' AND "matchedKeyId" IS NULL AND "matchedSignature" IS NULL',
    "no-match-with-key": _MATCH + '"matchType" = \'NO_MATCH\' AND "matchedKeyId" IS NOT NULL',
    "score-out-of-range": f"SELECT ({_MATCH} similarity > 1 OR confidence < 0)"
    f' + ({_SIG} "confidenceScore" > 1)',
    "missing-index": f"SELECT count(*) FROM pg_indexes WHERE indexname = '{DROPPED_INDEX}'",
    "score-nan": f"SELECT ({_MATCH} similarity = 'NaN') + ({_SIG} \"confidenceScore\" = 'NaN')",
    "two-matchings-one-scan": 'SELECT count(*) FROM (SELECT "keyQueryId" FROM key_matchings '
    "GROUP BY 1 HAVING count(*) > 1) d",
    "matching-other-user": "SELECT count(*) FROM key_matchings m JOIN key_queries q "
    'ON q.id = m."keyQueryId" WHERE m."userId" <> q."userId"',
    "index-wrong-order": "SELECT count(*) FROM pg_indexes WHERE indexname = "
    f"'{REORDERED_INDEX}' AND strpos(indexdef, '(\"createdAt\", \"keyId\")') > 0",
    "index-ascending": "SELECT count(*) FROM pg_indexes WHERE indexname = "
    f"'{ASCENDING_INDEX}' AND strpos(indexdef, '\"createdAt\")') > 0",
    "invalid-index": "SELECT count(*) FROM pg_index WHERE NOT indisvalid",
    "unknown-match-type": _MATCH + f"\"matchType\" = '{UNKNOWN_MATCH_TYPE}'",
    "stuck-pending-key": "SELECT count(*) FROM keys WHERE \"sigStatus\" = 'pending' "
    'AND "imageUrl" IS NOT NULL AND "createdAt" < %s::timestamp - interval \'1 hour\'',
    "failed-signature": "SELECT count(*) FROM keys WHERE \"sigStatus\" = 'failed' "
    "AND \"updatedAt\" > %s::timestamp - interval '1 hour'",
    "expired-tokens": 'SELECT count(*) FROM "PasswordResetToken" '
    "WHERE \"createdAt\" < %s::timestamp - interval '7 days'",
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_defect_is_planted_and_absent_from_clean_data(pg_server, defect: str) -> None:  # type: ignore[no-untyped-def]
    sql = PLANTED[defect]
    params = (NOW,) if "%s" in sql else ()
    clean = pg_server.create_database("kc_seed_clean")
    bad = pg_server.create_database("kc_seed_bad")
    try:
        seed(clean, now=NOW)
        summary = seed(bad, now=NOW, defects=[defect])
        assert summary.defects == (defect,)
        expected_clean = 1 if defect == "missing-index" else 0
        assert _one(clean, sql, *params) == expected_clean
        assert _one(bad, sql, *params) != expected_clean
    finally:
        pg_server.drop_database("kc_seed_clean")
        pg_server.drop_database("kc_seed_bad")


def test_unknown_defect_and_bad_scale_are_usage_errors(pg_url: str) -> None:
    with pytest.raises(StandinError, match="unknown defect") as unknown:
        seed(pg_url, defects=["nope"])
    assert unknown.value.kind == "usage"
    with pytest.raises(StandinError, match="scale") as scale:
        seed(pg_url, scale=0)
    assert scale.value.kind == "usage"
    with pytest.raises(StandinError, match="unknown seeding mode 'prod'") as mode:
        seed(pg_url, mode="prod")
    assert mode.value.kind == "usage"
    # Nothing was written by the refused calls.
    assert _one(pg_url, "SELECT to_regclass('\"User\"') IS NULL") is True


def test_seeding_twice_is_refused_and_leaves_rows_alone(pg_url: str) -> None:
    first = seed(pg_url, now=NOW)
    with pytest.raises(StandinError, match="already has KeyCliq users"):
        seed(pg_url, now=NOW)
    assert _one(pg_url, "SELECT count(*) FROM key_matchings") == first.counts["key_matchings"]


def test_scale_multiplies_rows(pg_url: str) -> None:
    summary = seed(pg_url, scale=3, now=NOW)
    assert summary.counts["User"] == 30
    assert summary.counts["keys"] == 300
    assert summary.counts["key_matchings"] >= 3000
