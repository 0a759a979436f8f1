"""The seeder's ``app`` and ``demo`` modes write rows the way the app's own code paths do."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest

from keycliq_ops.standin.sample.seed import seed

NOW = datetime(2025, 11, 20, 12, 0, 0)


def _rows(url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql, params).fetchall())


def _one(url: str, sql: str, *params: object) -> object:
    rows = _rows(url, sql, *params)
    assert len(rows) == 1
    return rows[0][0]


@pytest.mark.parametrize("mode", ["clean", "app", "demo"])
def test_every_row_sets_what_prisma_sets(pg_url: str, mode: str) -> None:
    seed(pg_url, mode=mode, now=NOW)
    assert _one(pg_url, 'SELECT pg_typeof(role)::text FROM "User" LIMIT 1') == '"Role"'
    assert _one(
        pg_url, 'SELECT array_agg(DISTINCT role::text ORDER BY role::text) FROM "User"'
    ) == [
        "ADMIN",
        "USER",
    ]
    assert _one(pg_url, "SELECT count(*) FROM key_queries WHERE \"queryType\" <> 'scan'") == 0
    # result holds the scan's signature and an ISO timestamp, as processKeyImageV6 writes
    assert (
        _one(
            pg_url,
            "SELECT count(*) FROM key_queries WHERE NOT (result ? 'signature' "
            "AND result ->> 'timestamp' ~ '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$')",
        )
        == 0
    )
    for table in ("keys", "key_signatures", "key_queries", "key_matchings"):
        assert _one(pg_url, f'SELECT count(*) FROM {table} WHERE "updatedAt" < "createdAt"') == 0


def test_app_mode_writes_the_normal_paths(pg_url: str) -> None:
    summary = seed(pg_url, mode="app", now=NOW)
    assert summary.mode == "app"
    # a key created from an unmatched scan: both references, the scan's user, a NO_MATCH
    # matching on that scan, the key created after it
    linked = _rows(
        pg_url,
        'SELECT k."userId" = q."userId", m."matchType", k."createdAt" > q."createdAt" '
        'FROM key_signatures s JOIN keys k ON k.id = s."keyId" '
        'JOIN key_queries q ON q.id = s."keyQueryId" '
        'JOIN key_matchings m ON m."keyQueryId" = q.id',
    )
    assert linked and set(linked) == {(True, "NO_MATCH", True)}
    assert _one(pg_url, 'SELECT count(*) FROM key_signatures WHERE "keyId" IS NULL') == 0
    # NO_MATCH against a non-empty inventory: the scan is there, the save refused the matching
    refused = _one(
        pg_url,
        "SELECT count(*) FROM key_queries q WHERE NOT EXISTS "
        '(SELECT 1 FROM key_matchings m WHERE m."keyQueryId" = q.id)',
    )
    assert isinstance(refused, int) and refused > 300
    # stored NO_MATCH rows are the no-candidate path: no key, score 0, reason
    assert _rows(
        pg_url,
        'SELECT DISTINCT "matchedKeyId", similarity, confidence, "comparisonResult" '
        "FROM key_matchings WHERE \"matchType\" = 'NO_MATCH'",
    ) == [(None, 0.0, 0.0, {"reason": "no_match_found"})]
    # MATCH_FOUND / POSSIBLE_KEYS: V6's perfect score, the best key of the user's inventory
    types = _rows(
        pg_url,
        'SELECT "matchType", min(similarity), max(confidence), count(*) FROM key_matchings '
        "GROUP BY 1 ORDER BY 1",
    )
    assert [(t, lo, hi) for t, lo, hi, _ in types] == [
        ("MATCH_FOUND", 1.0, 1.0),
        ("NO_MATCH", 0.0, 0.0),
        ("POSSIBLE_KEYS", 1.0, 1.0),
    ]
    assert (
        _one(
            pg_url,
            'SELECT count(*) FROM key_matchings m JOIN keys k ON k.id = m."matchedKeyId" '
            'WHERE k."userId" <> m."userId" OR k."sigStatus" <> \'ready\' '
            'OR m."matchedSignature" <> k.signature',
        )
        == 0
    )
    # keys without a photo stay pending with no signature; only ready keys have one
    assert _rows(
        pg_url,
        'SELECT DISTINCT "sigStatus", signature IS NULL FROM keys WHERE "imageUrl" IS NULL',
    ) == [("pending", True)]
    assert (
        _one(
            pg_url,
            "SELECT count(*) FROM keys k WHERE (k.\"sigStatus\" = 'ready') <> EXISTS "
            '(SELECT 1 FROM key_signatures s WHERE s."keyId" = k.id)',
        )
        == 0
    )
    # MATCH_FOUND whose key was deleted keeps the signature it matched
    assert summary.deleted_key_matchings > 2
    assert (
        _one(
            pg_url,
            "SELECT count(*) FROM key_matchings WHERE \"matchType\" = 'MATCH_FOUND' "
            'AND "matchedKeyId" IS NULL AND "matchedSignature" IS NULL',
        )
        == 0
    )


def test_demo_mode_writes_what_the_app_writes_without_openai(pg_url: str) -> None:
    summary = seed(pg_url, mode="demo", now=NOW)
    types = _one(
        pg_url,
        'SELECT array_agg(DISTINCT "matchType" ORDER BY "matchType") FROM key_matchings',
    )
    assert types == ["MATCH_FOUND", "NO_MATCH", "POSSIBLE_MATCH"]
    assert (
        _one(pg_url, 'SELECT count(*) FROM key_matchings WHERE "matchedSignature" IS NOT NULL') == 0
    )
    assert (
        _one(
            pg_url,
            "SELECT count(*) FROM key_matchings WHERE \"comparisonResult\" ->> 'mode' IS DISTINCT "
            "FROM 'demo' OR NOT (\"comparisonResult\" ? 'candidates') "
            "OR \"querySignature\" ->> 'mode' IS DISTINCT FROM 'demo'",
        )
        == 0
    )
    assert _one(pg_url, "SELECT count(*) FROM key_queries WHERE result ->> 'mode' <> 'demo'") == 0
    # POSSIBLE_MATCH carries one to three candidates, the first being the matched key
    sizes = _one(
        pg_url,
        "SELECT array_agg(DISTINCT jsonb_array_length(\"comparisonResult\" -> 'candidates')) "
        "FROM key_matchings WHERE \"matchType\" = 'POSSIBLE_MATCH'",
    )
    assert sizes == [1, 2, 3]
    assert (
        _one(
            pg_url,
            "SELECT count(*) FROM key_matchings WHERE \"matchType\" = 'POSSIBLE_MATCH' "
            'AND "matchedKeyId" IS NOT NULL '
            "AND \"comparisonResult\" -> 'candidates' -> 0 ->> 'keyId' <> \"matchedKeyId\"",
        )
        == 0
    )
    # every key created with a photo ended failed; no signature rows at all
    assert _rows(
        pg_url, 'SELECT DISTINCT "imageUrl" IS NULL, "sigStatus" FROM keys ORDER BY 1'
    ) == [(False, "failed"), (True, "pending")]
    assert _one(pg_url, "SELECT count(*) FROM key_signatures") == 0
    # a MATCH_FOUND whose key was deleted has neither key nor matched signature
    deleted = _one(
        pg_url,
        "SELECT count(*) FROM key_matchings WHERE \"matchType\" = 'MATCH_FOUND' "
        'AND "matchedKeyId" IS NULL',
    )
    assert deleted == summary.deleted_key_matchings > 2
    # every scan has its matching in demo mode (the save never refuses)
    assert summary.counts["key_matchings"] == summary.counts["key_queries"]


@pytest.mark.parametrize("mode", ["clean", "app", "demo"])
def test_reset_tokens_follow_the_apps_cleanup(pg_url: str, mode: str) -> None:
    seed(pg_url, mode=mode, now=NOW)
    # all tokens were alive when the newest was created (the cleanup ran just before it)
    assert (
        _one(
            pg_url,
            'SELECT count(*) FROM "PasswordResetToken" '
            'WHERE "expiresAt" < (SELECT max("createdAt") FROM "PasswordResetToken")',
        )
        == 0
    )
    kinds = _rows(
        pg_url,
        "SELECT DISTINCT CASE WHEN used THEN 'used' WHEN \"expiresAt\" < %s "
        "THEN 'expired' ELSE 'active' END FROM \"PasswordResetToken\" ORDER BY 1",
        NOW,
    )
    assert kinds == [("active",), ("expired",), ("used",)]
    assert _one(pg_url, 'SELECT count(DISTINCT "userId") = count(*) FROM "PasswordResetToken"')


def test_app_and_demo_modes_are_deterministic(pg_server) -> None:  # type: ignore[no-untyped-def]
    names = ["kc_mode_a1", "kc_mode_a2", "kc_mode_d1"]
    urls = [pg_server.create_database(n) for n in names]
    try:
        seed(urls[0], now=NOW, seed=3, mode="app")
        seed(urls[1], now=NOW, seed=3, mode="app")
        seed(urls[2], now=NOW, seed=3, mode="demo")
        digest = "SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM key_matchings t"
        assert _one(urls[0], digest) == _one(urls[1], digest) != _one(urls[2], digest)
    finally:
        for n in names:
            pg_server.drop_database(n)
