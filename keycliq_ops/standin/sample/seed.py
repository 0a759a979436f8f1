"""A deterministic seeder for KeyCliq-shaped databases, able to plant each Dataclip defect.

``apply_schema(url)`` creates the KeyCliq schema exactly as Prisma creates it
(``standin/sample/schema.sql``) unless its tables exist. ``seed(url, scale=, defects=,
seed=, mode=)`` writes realistic rows with server-side ``INSERT … SELECT … generate_series``
(no Python loops), so a million matchings take seconds. Every value derives from the row
number and ``seed`` through ``hashint8extended``/``md5``: the same ``seed``, ``mode`` and
``now`` give the same rows. Like Prisma, every insert sets ``"updatedAt"`` (and
``key_queries."queryType"``/``result``) itself: the schema has no defaults for them.

Per unit of ``scale``: 10 users (one session each), 100 keys and 1,000 scans
(``key_queries``). The sample user (``SeedSummary.sample_user_id``) owns keys of several
``sigStatus`` values and matchings of several types. ``mode`` says which write paths made
the rows:

``clean`` (the default)
    The team's invariants, as the shipped checks were first written against: one matching
    per scan (MATCH_FOUND, POSSIBLE_KEYS, NO_MATCH), a signature per ready key and one per
    fourth scan (never both references), keys ``pending`` only for the last 10 minutes.

``app``
    What the app's own code paths write with an OpenAI key (``app/lib/keyscan.server.js``
    ``processKeyImageV6``, ``app/lib/matching.server.js`` ``saveMatchingResult``,
    ``app/lib/keys.server.js`` ``createKey``, ``app/routes/keys.$id.jsx``):

    - a scan is written only against a non-empty inventory (the route sends an empty one to
      ``/scan/new``); MATCH_FOUND and POSSIBLE_KEYS (similarity = confidence = 1.0, as V6
      decides) name the best key and keep its signature in ``"matchedSignature"``;
    - a NO_MATCH against a non-empty inventory passes the best key's id, which the save
      refuses (``NO_MATCH should not have matchedKeyId``): the scan has **no matching**;
    - a few NO_MATCH matchings exist from the no-candidate path (similarity 0,
      ``comparisonResult = {"reason": "no_match_found"}``); a key created afterwards from
      the new-key form is linked to the user's latest such scan, so its signature has
      **both** ``"keyId"`` and ``"keyQueryId"``;
    - keys without a photo stay ``pending`` forever (``"imageUrl"`` null); a photo added
      later by editing the key (``updateKey``) is never signed either; keys whose analysis
      failed are ``failed``; only ``ready`` keys have a signature row;
    - MATCH_FOUND whose key was deleted: ``"matchedKeyId"`` null (ON DELETE SET NULL),
      ``"matchedSignature"`` kept.

``demo``
    What the app writes without ``OPENAI_API_KEY`` (``app/utils/demoMode.server.js``
    ``simulateDemoScanResult`` and the demo branch of ``processKeyImageV6``): every scan
    gets a matching of type MATCH_FOUND, ``POSSIBLE_MATCH`` (with one to three candidates)
    or NO_MATCH, always with ``"matchedSignature"`` null and ``"comparisonResult" =
    {"mode": "demo", "candidates": …}``; ``"querySignature"`` and ``key_queries.result``
    carry ``"mode": "demo"``; keys created with a photo end ``failed`` (one of the sample
    user's two hours ago), so there are no signature rows; a MATCH_FOUND whose key was
    deleted has both ``"matchedKeyId"`` and ``"matchedSignature"`` null.

In every mode the password-reset tokens follow the app's ``createPasswordResetToken``: each
new request first deletes every expired or used token (``cleanupExpiredTokens``) and the
user's own, so the tokens present were all alive when the newest one was created; some have
expired or been used since (legal until the next request). A MATCH_FOUND of the sample
user's key "Old shed" really goes through ``ON DELETE SET NULL`` (the key is deleted).

``defects`` plants one anomaly each on top (:data:`DEFECTS`, the check that sees it in
brackets).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from keycliq_ops.standin.failures import usage

SCHEMA_SQL = Path(__file__).resolve().parent / "schema.sql"

USERS_PER_SCALE = 10
KEYS_PER_SCALE = 100
SCANS_PER_SCALE = 1_000

Mode = Literal["clean", "app", "demo"]
MODES: tuple[str, ...] = ("clean", "app", "demo")

DEFECTS: dict[str, str] = {
    "xor-both-null": "a key_signatures row with neither keyId nor keyQueryId (E1 fails)",
    "xor-both-set": "a key_signatures row with both keyId and keyQueryId (E1 warns: the app "
    "writes these)",
    "match-found-without-key": "MATCH_FOUND with no key, no matched signature and not demo (E2)",
    "no-match-with-key": "NO_MATCH that names a matched key (E2)",
    "score-out-of-range": "similarity > 1, confidence < 0 and a confidenceScore > 1 (E3)",
    "score-nan": "a NaN similarity and a NaN confidenceScore of a never-matched key (E3)",
    "two-matchings-one-scan": "a second matching for one scan (E4)",
    "matching-other-user": "a matching whose userId differs from its scan's userId (E4)",
    "missing-index": 'the index "key_matchings_userId_matchType_idx" dropped (F)',
    "index-wrong-order": 'key_signatures\' index rebuilt on ("createdAt", "keyId") (F)',
    "index-ascending": 'key_queries\' index rebuilt on ("userId", "createdAt") ASC (F)',
    "invalid-index": 'the index "key_matchings_createdAt_idx" marked invalid (F; superuser)',
    "unknown-match-type": "a matching whose matchType is POSSIBLE, a value the app never "
    "writes (G)",
    "stuck-pending-key": "a key with a photo still pending 3 hours after it was created (H)",
    "failed-signature": "a key whose signature failed 15 minutes ago (H warns)",
    "expired-tokens": "password-reset tokens that expired a month ago, before newer tokens "
    "were created (I warns)",
}

DROPPED_INDEX = "key_matchings_userId_matchType_idx"
REORDERED_INDEX = "key_signatures_keyId_createdAt_idx"
ASCENDING_INDEX = "key_queries_userId_createdAt_idx"
INVALID_INDEX = "key_matchings_createdAt_idx"
UNKNOWN_MATCH_TYPE = "POSSIBLE"


@dataclass(frozen=True)
class SeedSummary:
    """What ``seed`` wrote."""

    scale: int
    seed: int
    now: datetime
    counts: dict[str, int]
    defects: tuple[str, ...]
    sample_user_id: str
    deleted_key_matchings: int = 0
    mode: str = "clean"
    extra: dict[str, Any] = field(default_factory=dict)


def _id(seed: int, kind: str, expr: str) -> str:
    """A cuid-like id for row ``expr``: ``c`` + the row number in hex + a hash (25 chars).

    Like real cuids the ids grow with creation order, which keeps bulk inserts into the
    primary-key b-trees sequential.
    """
    return (
        f"('c' || lpad(to_hex({expr}), 8, '0') || substr(md5('{seed}:{kind}:' || ({expr})), 1, 16))"
    )


def _uid(seed: int, expr: str) -> str:
    return _id(seed, "u", expr)


def _kid(seed: int, expr: str) -> str:
    return _id(seed, "k", expr)


def _qid(seed: int, expr: str) -> str:
    return _id(seed, "q", expr)


def _cid(seed: int, tag: str) -> str:
    """A literal cuid-like id for one named row."""
    import hashlib

    return "c" + hashlib.md5(f"{seed}:{tag}".encode(), usedforsecurity=False).hexdigest()[:24]


def _r(seed: int, stream: int, expr: str = "g") -> str:
    """A deterministic number in [0, 1) for row ``expr`` in random stream ``stream``."""
    return f"(abs(hashint8extended(({expr})::bigint, {seed * 64 + stream}) % 1000003) / 1000003.0)"


def _h(seed: int, stream: int, expr: str = "g") -> str:
    """A deterministic non-negative whole number for row ``expr`` in stream ``stream``."""
    return f"abs(hashint8extended(({expr})::bigint, {seed * 64 + stream}))"


def _row_id(seed: int, kind: str, n: int) -> str:
    """The id that ``_uid``/``_kid``/``_qid`` give row ``n`` (computed in Python)."""
    import hashlib

    digest = hashlib.md5(f"{seed}:{kind}:{n}".encode(), usedforsecurity=False).hexdigest()
    return f"c{n:08x}{digest[:16]}"


def sample_user_id(seed: int = 0) -> str:
    """The id of user number 1, who owns keys of several sigStatus and matching types."""
    return _row_id(seed, "u", 1)


def deleted_key_id(seed: int = 0) -> str:
    """The id of the sample user's key that the seeder deletes (through the foreign keys),
    as the staging checklist's key-deletion item asks for."""
    return _cid(seed, "doomed-key")


def apply_schema(database_url: str) -> bool:
    """Create the KeyCliq schema unless its tables exist; return whether it was created."""
    from keycliq_ops.standin import pgclient

    with pgclient.connect(database_url, action="applying the KeyCliq schema") as conn:
        row = conn.execute("SELECT to_regclass('\"User\"') IS NOT NULL").fetchone()
        if row and row[0]:
            return False
        with conn.transaction():
            conn.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
    return True


def _iso(expr: str) -> str:
    """``expr`` (a timestamp) as JavaScript's ``toISOString()`` writes it."""
    return f'to_char({expr}, \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\')'


def _sig(expr: str = "g", confidence: str | None = None) -> str:
    """A V6-like signature for row ``expr`` (with ``confidence_score`` when given)."""
    extra = f", 'confidence_score', {confidence}" if confidence else ""
    return (
        "jsonb_build_object('version', 6, 'bitting', "
        f"jsonb_build_array(({expr}) % 7, ({expr}) % 5, ({expr}) % 9, ({expr}) % 4, "
        f"({expr}) % 6), 'profile', (ARRAY['KW1','SC1','Y1','M1','AR4'])[1 + ({expr}) % 5], "
        f"'blade', 'standard'{extra})"
    )


def _image(seed: int, kind: str, expr: str = "g") -> tuple[str, str]:
    """``("imageUrl", "imagePublicId")`` expressions of a Cloudinary upload."""
    digest = f"md5('{seed}:{kind}:' || ({expr}))"
    return (
        f"'https://res.cloudinary.com/keycliq/image/upload/v1/keyscan/{kind}/' || {digest} "
        "|| '.jpg'",
        f"'keyscan/{kind}/' || {digest}",
    )


def _common_statements(seed: int, scale: int) -> list[str]:
    """Users, sessions and reset tokens: the same in every mode."""
    nu = USERS_PER_SCALE * scale
    s = seed
    # The newest reset token was created 20 minutes ago; the cleanup that ran just before it
    # deleted every token dead by then, so the others are from the hour before (a token
    # lives one hour) and some expired or were used since.
    token_created = (
        f"CASE WHEN g = 1 THEN $1::timestamp - interval '20 minutes' "
        f"WHEN g = 2 THEN $1::timestamp - interval '70 minutes' "
        f"ELSE $1::timestamp - interval '20 minutes' - {_r(s, 2)} * interval '55 minutes' END"
    )
    return [
        f"""INSERT INTO "User" (id, email, password, role, "createdAt", "updatedAt")
        SELECT {_uid(s, "g")}, 'user' || g || '.{s}@example.com',
               '$2a$10$' || substr(md5('{s}:pw:' || g), 1, 22)
                         || substr(md5('{s}:pw2:' || g), 1, 31),
               (CASE WHEN g = 2 THEN 'ADMIN' ELSE 'USER' END)::"Role", t, t
        FROM (SELECT g, $1::timestamp - interval '100 days'
                        - {_r(s, 1)} * interval '200 days' AS t
              FROM generate_series(1, {nu}) g) x""",
        f"""INSERT INTO "Session" (id, "userId", expiration, "createdAt")
        SELECT '{_cid(s, "session")}' || g, {_uid(s, "g")},
               $1::timestamp + interval '30 days', $1::timestamp - interval '1 day'
        FROM generate_series(1, {nu}) g""",
        f"""INSERT INTO "PasswordResetToken" (id, "userId", "tokenHash", "expiresAt", used,
                                              "createdAt")
        SELECT '{_cid(s, "token")}' || g, {_uid(s, "g")},
               '$2a$12$' || substr(md5('{s}:tok:' || g), 1, 22)
                         || substr(md5('{s}:t2:' || g), 1, 31),
               created + interval '1 hour', g = 3 OR (g > 3 AND {_r(s, 4)} < 0.25), created
        FROM (SELECT g, {token_created} AS created FROM generate_series(1, {nu}) g
              WHERE g <= 3 OR {_r(s, 3)} < 0.4) x""",
    ]


def _clean_statements(seed: int, scale: int) -> list[str]:
    nu = USERS_PER_SCALE * scale
    nk = KEYS_PER_SCALE * scale
    nq = SCANS_PER_SCALE * scale
    kpu = nk // nu  # keys per user: user u owns keys u, u+nu, u+2nu, …
    s = seed
    user_of = f"(1 + (g - 1) % {nu})"
    scan_at = f"($1::timestamp - interval '1 hour' - {_r(s, 10)} * interval '90 days')"
    status = (
        f"CASE WHEN g = 1 THEN 'ready' WHEN g = {1 + nu} THEN 'pending' "
        f"WHEN g = {1 + 2 * nu} THEN 'failed' WHEN {_r(s, 3)} < 0.01 THEN 'pending' "
        f"WHEN {_r(s, 3)} < 0.04 THEN 'failed' ELSE 'ready' END"
    )
    match_type = (
        f"CASE WHEN g = 1 THEN 'MATCH_FOUND' WHEN g = {1 + nu} THEN 'NO_MATCH' "
        f"WHEN g = {1 + 2 * nu} THEN 'POSSIBLE_KEYS' WHEN {_r(s, 11)} < 0.55 THEN 'MATCH_FOUND' "
        f"WHEN {_r(s, 11)} < 0.85 THEN 'NO_MATCH' ELSE 'POSSIBLE_KEYS' END"
    )
    matched_key = f"{user_of} + {nu} * ({_h(s, 13)} % {kpu})"
    sig = _sig()
    key_url, key_public = _image(s, "keys")
    scan_url, _ = _image(s, "scans")
    return [
        f"""INSERT INTO keys (id, "userId", name, description, unit, door, notes, "imageUrl",
                           "imagePublicId", signature, "sigStatus", "createdAt", "updatedAt")
        SELECT {_kid(s, "g")}, {_uid(s, user_of)},
               (ARRAY['Front door','Back door','Garage','Mailbox','Office','Storage','Bike lock',
                      'Basement','Gate','Cabinet'])[1 + g % 10] || ' ' || (1 + g / {nu * 10}),
               CASE WHEN g % 3 = 0 THEN NULL ELSE 'Key ' || g || ' on the blue ring' END,
               CASE WHEN g % 4 = 0 THEN 'Unit ' || (1 + g % 40) END,
               CASE WHEN g % 5 = 0 THEN 'Door ' || (1 + g % 12) END,
               NULL, {key_url}, {key_public},
               CASE WHEN st = 'ready' THEN {sig} END,
               st, created,
               created + CASE st WHEN 'ready' THEN interval '30 seconds'
                                 WHEN 'failed' THEN interval '40 seconds' ELSE interval '0' END
        FROM (SELECT g, st,
                     CASE st WHEN 'pending' THEN $1::timestamp - {_r(s, 5)} * interval '10 minutes'
                             WHEN 'failed' THEN $1::timestamp - interval '2 days'
                                                - {_r(s, 5)} * interval '180 days'
                             ELSE $1::timestamp - interval '1 hour'
                                  - {_r(s, 5)} * interval '180 days' END AS created
              FROM (SELECT g, {status} AS st FROM generate_series(1, {nk}) g) a) b""",
        f"""INSERT INTO key_signatures (id, "keyId", signature, "imageUrl", "confidenceScore",
                                     "createdAt", "updatedAt")
        SELECT 'c' || substr(id, 2, 8) || substr(md5('{s}:ks:' || id), 1, 16), id, signature,
               "imageUrl",
               round((0.55 + abs(hashtextextended(id, {s}) % 1000) / 2220.0)::numeric, 4)::float8,
               "updatedAt", "updatedAt"
        FROM keys WHERE "sigStatus" = 'ready'""",
        f"""INSERT INTO key_queries (id, "userId", "queryType", result, status, "createdAt",
                                  "updatedAt")
        SELECT {_qid(s, "g")}, {_uid(s, user_of)}, 'scan',
               jsonb_build_object('signature', {sig}, 'timestamp', {_iso("t")}),
               'completed', t, t + interval '3 seconds'
        FROM (SELECT g, {scan_at} AS t FROM generate_series(1, {nq}) g) x""",
        f"""INSERT INTO key_signatures (id, "keyQueryId", signature, "imageUrl", "confidenceScore",
                                     "createdAt", "updatedAt")
        SELECT {_id(s, "qs", "g")}, {_qid(s, "g")}, {sig}, {scan_url},
               round((0.5 + {_r(s, 12)} * 0.5)::numeric, 4)::float8, t, t
        FROM (SELECT g, {scan_at} AS t FROM generate_series(4, {nq}, 4) g) x""",
        f"""INSERT INTO key_matchings (id, "userId", "keyQueryId", "matchedKeyId", "matchType",
                                    similarity, confidence, "querySignature", "matchedSignature",
                                    "comparisonResult", "createdAt", "updatedAt")
        SELECT {_id(s, "m", "g")}, {_uid(s, user_of)}, {_qid(s, "g")},
               CASE WHEN mt = 'MATCH_FOUND' AND NOT deleted
                    THEN {_kid(s, matched_key)}
               END,
               mt,
               round(CASE mt WHEN 'MATCH_FOUND' THEN 0.85 + r * 0.15
                             WHEN 'POSSIBLE_KEYS' THEN 0.6 + r * 0.25
                             ELSE r * 0.5 END::numeric, 4)::float8,
               round(CASE mt WHEN 'MATCH_FOUND' THEN 0.8 + r * 0.2
                             WHEN 'POSSIBLE_KEYS' THEN 0.5 + r * 0.3
                             ELSE 0.2 + r * 0.6 END::numeric, 4)::float8,
               {sig},
               CASE WHEN mt = 'MATCH_FOUND' THEN {sig} END,
               CASE WHEN mt = 'NO_MATCH' THEN NULL
                    ELSE jsonb_build_object('score', round(r::numeric, 4),
                                            'candidates',
                                            CASE WHEN mt = 'POSSIBLE_KEYS' THEN 3 ELSE 1 END)
               END,
               t + interval '2 seconds', t + interval '2 seconds'
        FROM (SELECT g, {match_type} AS mt, {_r(s, 14)} AS r, {scan_at} AS t,
                     (g > {3 * nu} AND {_r(s, 15)} < 0.02) AS deleted
              FROM generate_series(1, {nq}) g) x""",
    ]


_KEY_NAMES = (
    "(ARRAY['Front door','Back door','Garage','Mailbox','Office','Storage','Bike lock',"
    "'Basement','Gate','Cabinet'])[1 + g % 10]"
)


def _inventory_tables(ready_only: bool) -> list[str]:
    """Temporary tables numbering each user's keys (the scan route's inventory): the keys
    a matching may name. ``ready_only``: only keys with a signature (normal mode)."""
    where = "WHERE \"sigStatus\" = 'ready'" if ready_only else ""
    return [
        f"""CREATE TEMP TABLE seed_inventory ON COMMIT DROP AS
        SELECT "userId" AS uid, row_number() OVER (PARTITION BY "userId" ORDER BY id) AS i,
               id, signature
        FROM keys {where}""",
        """CREATE TEMP TABLE seed_inventory_size ON COMMIT DROP AS
        SELECT uid, count(*) AS n FROM seed_inventory GROUP BY uid""",
    ]


def _app_statements(seed: int, scale: int) -> list[str]:
    nu = USERS_PER_SCALE * scale
    nk = KEYS_PER_SCALE * scale
    nq = SCANS_PER_SCALE * scale
    s = seed
    user_of = f"(1 + (g - 1) % {nu})"
    scan_at = f"($1::timestamp - interval '1 hour' - {_r(s, 10)} * interval '90 days')"
    # Each user's first key (g ≤ nu) is ready, so every inventory is non-empty.
    kind = (
        f"CASE WHEN g <= {nu} THEN 'ready' WHEN g = {1 + nu} THEN 'no-photo' "
        f"WHEN g = {1 + 2 * nu} THEN 'failed' WHEN g = {1 + 3 * nu} THEN 'photo-by-edit' "
        f"WHEN {_r(s, 3)} < 0.08 THEN 'no-photo' WHEN {_r(s, 3)} < 0.10 THEN 'photo-by-edit' "
        f"WHEN {_r(s, 3)} < 0.13 THEN 'failed' ELSE 'ready' END"
    )
    confidence = f"round((0.86 + {_r(s, 6)} * 0.13)::numeric, 2)"
    key_url, key_public = _image(s, "keys")
    link_url, link_public = _image(s, "linked")
    # Scans whose matching is a stored NO_MATCH (the no-candidate path); every second one
    # later got a key created from the new-key form, linked to it.
    stored_no_match = f"(g = {1 + nu} OR g % 40 = 17)"
    linked = f"(g = {1 + nu} OR g % 80 = 17)"
    outcome = (
        f"CASE WHEN g = 1 THEN 'MATCH_FOUND' WHEN g = {1 + 2 * nu} THEN 'POSSIBLE_KEYS' "
        f"WHEN {stored_no_match} THEN 'NO_MATCH' WHEN {_r(s, 11)} < 0.45 THEN 'MATCH_FOUND' "
        f"WHEN {_r(s, 11)} < 0.55 THEN 'POSSIBLE_KEYS' ELSE 'REFUSED' END"
    )
    deleted = f"(g > {3 * nu} AND {_r(s, 15)} < 0.02)"
    return [
        f"""INSERT INTO keys (id, "userId", name, description, unit, door, notes, "imageUrl",
                           "imagePublicId", signature, "sigStatus", "createdAt", "updatedAt")
        SELECT {_kid(s, "g")}, {_uid(s, user_of)},
               {_KEY_NAMES} || ' ' || (1 + g / {nu * 10}),
               CASE WHEN g % 3 = 0 THEN NULL ELSE 'Key ' || g || ' on the blue ring' END,
               CASE WHEN g % 4 = 0 THEN 'Unit ' || (1 + g % 40) END,
               CASE WHEN g % 5 = 0 THEN 'Door ' || (1 + g % 12) END,
               NULL,
               CASE WHEN kind <> 'no-photo' THEN {key_url} END,
               CASE WHEN kind <> 'no-photo' THEN {key_public} END,
               CASE WHEN kind = 'ready' THEN {_sig("g", confidence)} END,
               CASE kind WHEN 'ready' THEN 'ready' WHEN 'failed' THEN 'failed'
                         ELSE 'pending' END,
               created,
               CASE WHEN kind = 'photo-by-edit' OR (kind = 'ready' AND g % 7 = 0)
                    THEN created + interval '1 day' + {_r(s, 7)} * interval '20 days'
                    ELSE created END
        FROM (SELECT g, kind,
                     CASE WHEN kind = 'failed' THEN $1::timestamp - interval '2 days'
                                                    - {_r(s, 5)} * interval '150 days'
                          ELSE $1::timestamp - interval '25 days'
                               - {_r(s, 5)} * interval '150 days' END AS created
              FROM (SELECT g, {kind} AS kind FROM generate_series(1, {nk}) g) a) b""",
        # createKey: the signature row right after the key, confidence from the signature
        f"""INSERT INTO key_signatures (id, "keyId", "keyQueryId", signature, "imageUrl",
                                     "confidenceScore", "createdAt", "updatedAt")
        SELECT 'c' || substr(id, 2, 8) || substr(md5('{s}:ks:' || id), 1, 16), id, NULL,
               signature, "imageUrl", (signature ->> 'confidence_score')::float8,
               "createdAt" + interval '40 milliseconds', "createdAt" + interval '40 milliseconds'
        FROM keys WHERE "sigStatus" = 'ready'""",
        *_inventory_tables(ready_only=True),
        f"""INSERT INTO key_queries (id, "userId", "queryType", result, status, "createdAt",
                                  "updatedAt")
        SELECT {_qid(s, "g")}, {_uid(s, user_of)}, 'scan',
               jsonb_build_object('signature', {_sig("g + 7", confidence)},
                                  'timestamp', {_iso("t")}),
               'completed', t, t
        FROM (SELECT g, {scan_at} AS t FROM generate_series(1, {nq}) g) x""",
        # saveMatchingResult: MATCH_FOUND / POSSIBLE_KEYS name the best key; a NO_MATCH
        # against the inventory is refused (no row); the no-candidate NO_MATCH is stored.
        f"""INSERT INTO key_matchings (id, "userId", "keyQueryId", "matchedKeyId", "matchType",
                                    similarity, confidence, "querySignature", "matchedSignature",
                                    "comparisonResult", "createdAt", "updatedAt")
        SELECT {_id(s, "m", "g")}, x.uid, {_qid(s, "g")},
               CASE WHEN mt <> 'NO_MATCH' AND NOT {deleted} THEN c.id END,
               mt, score, score, {_sig("g + 7", confidence)},
               CASE WHEN mt <> 'NO_MATCH' THEN c.signature END,
               CASE WHEN mt = 'NO_MATCH' THEN jsonb_build_object('reason', 'no_match_found')
                    ELSE jsonb_build_object(
                        'similarity', 1, 'margin', margin, 'matchType', mt,
                        'secondBestScore', 1 - margin,
                        'details', jsonb_build_object('bitting', 1, 'profile', 1))
               END,
               t + interval '2 seconds', t + interval '2 seconds'
        FROM (SELECT g, {_uid(s, user_of)} AS uid, {outcome} AS mt, {scan_at} AS t,
                     {_h(s, 13)} AS h
              FROM generate_series(1, {nq}) g) x
        JOIN seed_inventory_size n ON n.uid = x.uid
        JOIN seed_inventory c ON c.uid = x.uid AND c.i = 1 + x.h % n.n
        CROSS JOIN LATERAL (
            SELECT CASE mt WHEN 'NO_MATCH' THEN 0.0 ELSE 1.0 END::float8 AS score,
                   CASE WHEN mt = 'MATCH_FOUND'
                        THEN round((0.05 + {_r(s, 14)} * 0.4)::numeric, 4) ELSE 0 END AS margin
        ) sc
        WHERE mt <> 'REFUSED'""",
        # The new-key form (app/routes/keys.$id.jsx) links a new key to the user's latest
        # NO_MATCH scan: createKey writes its signature with both references.
        f"""INSERT INTO keys (id, "userId", name, "imageUrl", "imagePublicId", signature,
                           "sigStatus", "createdAt", "updatedAt")
        SELECT {_id(s, "kl", "g")}, {_uid(s, user_of)}, 'New key ' || g, {link_url},
               {link_public}, {_sig("g + 3", confidence)}, 'ready',
               t + interval '2 minutes', t + interval '2 minutes'
        FROM (SELECT g, {scan_at} AS t FROM generate_series(1, {nq}) g WHERE {linked}) x""",
        f"""INSERT INTO key_signatures (id, "keyId", "keyQueryId", signature, "imageUrl",
                                     "confidenceScore", "createdAt", "updatedAt")
        SELECT {_id(s, "kls", "g")}, {_id(s, "kl", "g")}, {_qid(s, "g")},
               {_sig("g + 3", confidence)}, {link_url}, {confidence}::float8,
               t + interval '2 minutes 40 milliseconds', t + interval '2 minutes 40 milliseconds'
        FROM (SELECT g, {scan_at} AS t FROM generate_series(1, {nq}) g WHERE {linked}) x""",
    ]


def _demo_statements(seed: int, scale: int) -> list[str]:
    nu = USERS_PER_SCALE * scale
    nk = KEYS_PER_SCALE * scale
    nq = SCANS_PER_SCALE * scale
    s = seed
    user_of = f"(1 + (g - 1) % {nu})"
    scan_at = f"($1::timestamp - interval '1 hour' - {_r(s, 10)} * interval '90 days')"
    # Without OpenAI the signature extraction fails: a key with a photo ends `failed`.
    photo = f"(g <= {nu} OR g = {1 + 2 * nu} OR (g <> {1 + nu} AND {_r(s, 3)} >= 0.1))"
    key_url, key_public = _image(s, "keys")
    outcome = (
        f"CASE WHEN g = 1 THEN 'MATCH' WHEN g = {1 + nu} THEN 'NO_MATCH' "
        f"WHEN g = {1 + 2 * nu} THEN 'POSSIBLE' WHEN {_r(s, 11)} < 0.4 THEN 'MATCH' "
        f"WHEN {_r(s, 11)} < 0.7 THEN 'POSSIBLE' ELSE 'NO_MATCH' END"
    )
    similarity = (
        f"round(CASE outcome WHEN 'MATCH' THEN 0.9 + {_r(s, 14)} * 0.08 "
        f"WHEN 'POSSIBLE' THEN 0.75 + {_r(s, 14)} * 0.14 "
        f"ELSE 0.35 + {_r(s, 14)} * 0.34 END::numeric, 4)::float8"
    )
    deleted = f"(g > {3 * nu} AND {_r(s, 15)} < 0.03)"
    return [
        f"""INSERT INTO keys (id, "userId", name, description, unit, door, notes, "imageUrl",
                           "imagePublicId", signature, "sigStatus", "createdAt", "updatedAt")
        SELECT {_kid(s, "g")}, {_uid(s, user_of)},
               {_KEY_NAMES} || ' ' || (1 + g / {nu * 10}),
               CASE WHEN g % 3 = 0 THEN NULL ELSE 'Key ' || g || ' on the blue ring' END,
               CASE WHEN g % 4 = 0 THEN 'Unit ' || (1 + g % 40) END,
               CASE WHEN g % 5 = 0 THEN 'Door ' || (1 + g % 12) END,
               NULL,
               CASE WHEN photo THEN {key_url} END,
               CASE WHEN photo THEN {key_public} END,
               NULL,
               CASE WHEN photo THEN 'failed' ELSE 'pending' END,
               created, created
        FROM (SELECT g, {photo} AS photo,
                     CASE WHEN g = {1 + 2 * nu} THEN $1::timestamp - interval '2 hours'
                          ELSE $1::timestamp - interval '2 days'
                               - {_r(s, 5)} * interval '150 days' END AS created
              FROM generate_series(1, {nk}) g) b""",
        *_inventory_tables(ready_only=False),
        _demo_scan_table(s, nq, user_of, scan_at, outcome, similarity, deleted),
        f"""INSERT INTO key_queries (id, "userId", "queryType", result, status, "createdAt",
                                  "updatedAt")
        SELECT {_qid(s, "g")}, uid, 'scan',
               jsonb_build_object(
                   'mode', 'demo', 'signature', qsig,
                   'simulated', jsonb_build_object(
                       'outcome', outcome, 'matchedKeyId', key_id, 'confidence', similarity,
                       'similarity', similarity, 'candidates', candidates),
                   'timestamp', {_iso("t")}),
               'completed', t, t
        FROM seed_demo_scans""",
        f"""INSERT INTO key_matchings (id, "userId", "keyQueryId", "matchedKeyId", "matchType",
                                    similarity, confidence, "querySignature", "matchedSignature",
                                    "comparisonResult", "createdAt", "updatedAt")
        SELECT {_id(s, "m", "g")}, uid, {_qid(s, "g")},
               CASE WHEN NOT deleted THEN key_id END,
               CASE outcome WHEN 'MATCH' THEN 'MATCH_FOUND' WHEN 'POSSIBLE' THEN 'POSSIBLE_MATCH'
                            ELSE 'NO_MATCH' END,
               similarity, similarity, qsig, NULL,
               jsonb_build_object('mode', 'demo', 'candidates', candidates),
               t + interval '1 second', t + interval '1 second'
        FROM seed_demo_scans""",
    ]


def _demo_scan_table(
    s: int,
    nq: int,
    user_of: str,
    scan_at: str,
    outcome: str,
    similarity: str,
    deleted: str,
) -> str:
    """The simulated outcome of every demo scan, shared by its key_queries and matching rows."""
    cand = (
        "jsonb_build_object('keyId', {c}.id, 'similarity', round((x.similarity - {k} * 0.03)"
        "::numeric, 4), 'matchType', 'POSSIBLE_MATCH')"
    )
    return f"""CREATE TEMP TABLE seed_demo_scans ON COMMIT DROP AS
        SELECT x.g, x.uid, x.t, x.outcome, x.similarity, x.deleted,
               CASE WHEN x.outcome <> 'NO_MATCH' THEN c1.id END AS key_id,
               CASE WHEN x.outcome = 'POSSIBLE' THEN
                   CASE x.h % 3 WHEN 0 THEN jsonb_build_array({cand.format(c="c1", k=0)})
                                WHEN 1 THEN jsonb_build_array({cand.format(c="c1", k=0)},
                                                              {cand.format(c="c2", k=1)})
                                ELSE jsonb_build_array({cand.format(c="c1", k=0)},
                                                       {cand.format(c="c2", k=1)},
                                                       {cand.format(c="c3", k=2)}) END
               END AS candidates,
               jsonb_build_object('mode', 'demo', 'simulatedAt', {_iso("x.t")},
                                  'confidence_score', x.similarity) AS qsig
        FROM (SELECT g, uid, t, outcome, {similarity} AS similarity, deleted, h
              FROM (SELECT g, {_uid(s, user_of)} AS uid, {scan_at} AS t, {outcome} AS outcome,
                           {deleted} AS deleted, {_h(s, 13)} AS h
                    FROM generate_series(1, {nq}) g) y) x
        JOIN seed_inventory_size n ON n.uid = x.uid
        JOIN seed_inventory c1 ON c1.uid = x.uid AND c1.i = 1 + x.h % n.n
        JOIN seed_inventory c2 ON c2.uid = x.uid AND c2.i = 1 + (x.h + 1) % n.n
        JOIN seed_inventory c3 ON c3.uid = x.uid AND c3.i = 1 + (x.h + 2) % n.n"""


_SIG_LITERAL = '{"version": 6, "bitting": [1, 2, 3, 0, 4], "profile": "KW1", "blade": "standard"}'
_DEMO_QUERY = '{"mode": "demo", "simulatedAt": "%s", "confidence_score": 0.93}'


def _scan(conn: Any, seed: int, tag: str, uid: str, at: datetime, mode: str) -> str:
    """One key_queries row as processKeyImageV6 writes it."""
    qid = _cid(seed, f"scan-{tag}")
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if mode == "demo":
        result = (
            f'{{"mode": "demo", "signature": {_DEMO_QUERY % stamp}, '
            f'"simulated": {{"outcome": "MATCH"}}, "timestamp": "{stamp}"}}'
        )
    else:
        result = f'{{"signature": {_SIG_LITERAL}, "timestamp": "{stamp}"}}'
    conn.execute(
        """INSERT INTO key_queries (id, "userId", "queryType", result, status, "createdAt",
                                    "updatedAt")
        VALUES (%s, %s, 'scan', %s, 'completed', %s, %s)""",
        (qid, uid, result, at, at),
    )
    return qid


def _matching(
    conn: Any,
    seed: int,
    tag: str,
    uid: str,
    now: datetime,
    *,
    match_type: str,
    key: str | None,
    matched_signature: bool,
    similarity: float = 0.9,
    confidence: float = 0.9,
    mode: str = "clean",
    scan: str | None = None,
) -> str:
    """One matching (on a new scan of ``uid`` unless ``scan`` names one); returns the scan."""
    qid = scan or _scan(conn, seed, f"defect-{tag}", uid, now, mode)
    demo = mode == "demo"
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    conn.execute(
        """INSERT INTO key_matchings (id, "userId", "keyQueryId", "matchedKeyId", "matchType",
             similarity, confidence, "querySignature", "matchedSignature", "comparisonResult",
             "createdAt", "updatedAt")
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            _cid(seed, f"defect-match-{tag}"),
            uid,
            qid,
            key,
            match_type,
            similarity,
            confidence,
            _DEMO_QUERY % stamp if demo else _SIG_LITERAL,
            _SIG_LITERAL if matched_signature else None,
            '{"mode": "demo", "candidates": null}' if demo else '{"similarity": 1, "margin": 0.2}',
            now,
            now,
        ),
    )
    return qid


def _deleted_key(conn: Any, seed: int, uid: str, now: datetime, mode: str) -> None:
    """A key of the sample user, matched twice, then deleted through the foreign keys."""
    from datetime import timedelta

    kid = _cid(seed, "doomed-key")
    created = now - timedelta(days=40)
    ready = mode != "demo"
    status = "ready" if ready else "failed"
    conn.execute(
        """INSERT INTO keys (id, "userId", name, "imageUrl", "imagePublicId", signature,
                             "sigStatus", "createdAt", "updatedAt")
        VALUES (%s, %s, 'Old shed', 'https://res.cloudinary.com/keycliq/image/upload/v1/shed.jpg',
                'keyscan/shed', %s, %s, %s, %s)""",
        (kid, uid, _SIG_LITERAL if ready else None, status, created, created),
    )
    if ready:
        conn.execute(
            """INSERT INTO key_signatures (id, "keyId", signature, "confidenceScore",
                                           "createdAt", "updatedAt")
            VALUES (%s, %s, %s, 0.91, %s, %s)""",
            (_cid(seed, "doomed-sig"), kid, _SIG_LITERAL, created, created),
        )
    for n in (1, 2):
        at = now - timedelta(days=30, minutes=n)
        qid = _scan(conn, seed, f"doomed-{n}", uid, at, mode)
        _matching(
            conn,
            seed,
            f"doomed-{n}",
            uid,
            at,
            match_type="MATCH_FOUND",
            key=kid,
            matched_signature=ready,
            similarity=1.0 if ready else 0.93,
            confidence=1.0 if ready else 0.93,
            mode="demo" if mode == "demo" else "app",
            scan=qid,
        )
    conn.execute("DELETE FROM keys WHERE id = %s", (kid,))


def _replace_index(conn: Any, name: str, table: str, columns: str) -> None:
    """Re-create index ``name`` of ``table`` on ``columns`` (same name, other definition)."""
    conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    conn.execute(f'CREATE INDEX "{name}" ON "{table}" ({columns})')


def _plant(
    conn: Any, name: str, *, seed: int, uid: str, key1: str, now: datetime, mode: str
) -> None:
    from datetime import timedelta

    c = _cid
    scan_mode = "demo" if mode == "demo" else "app"
    if name == "xor-both-null":
        conn.execute(
            """INSERT INTO key_signatures (id, signature, "confidenceScore", "createdAt",
                                         "updatedAt")
            VALUES (%s, %s, 0.8, %s, %s)""",
            (c(seed, "defect-xor-null"), _SIG_LITERAL, now, now),
        )
    elif name == "xor-both-set":
        # a key linked to an unmatched scan, as the new-key form does (a warning, not a defect)
        qid = _matching(
            conn,
            seed,
            "xor",
            uid,
            now,
            match_type="NO_MATCH",
            key=None,
            matched_signature=False,
            similarity=0.0,
            confidence=0.0,
            mode=scan_mode,
        )
        conn.execute(
            """INSERT INTO key_signatures (id, "keyId", "keyQueryId", signature, "confidenceScore",
                                         "createdAt", "updatedAt")
            VALUES (%s, %s, %s, %s, 0.8, %s, %s)""",
            (c(seed, "defect-xor-set"), key1, qid, _SIG_LITERAL, now, now),
        )
    elif name == "match-found-without-key":
        # never demo-shaped: a demo MATCH_FOUND without a key is a deleted key's trace
        _matching(
            conn, seed, "mf", uid, now, match_type="MATCH_FOUND", key=None, matched_signature=False
        )
    elif name == "no-match-with-key":
        _matching(
            conn,
            seed,
            "nm",
            uid,
            now,
            match_type="NO_MATCH",
            key=key1,
            matched_signature=False,
            mode=scan_mode,
        )
    elif name == "score-out-of-range":
        _matching(
            conn,
            seed,
            "sim",
            uid,
            now,
            match_type="MATCH_FOUND",
            key=key1,
            matched_signature=True,
            similarity=1.35,
        )
        _matching(
            conn,
            seed,
            "conf",
            uid,
            now,
            match_type="POSSIBLE_KEYS",
            key=key1,
            matched_signature=True,
            similarity=0.2,
            confidence=-0.1,
        )
        conn.execute(
            """INSERT INTO key_signatures (id, "keyId", signature, "confidenceScore", "createdAt",
                                         "updatedAt")
            VALUES (%s, %s, %s, 1.6, %s, %s)""",
            (c(seed, "defect-score-sig"), key1, _SIG_LITERAL, now, now),
        )
    elif name == "score-nan":
        _matching(
            conn,
            seed,
            "nan",
            uid,
            now,
            match_type="MATCH_FOUND",
            key=key1,
            matched_signature=True,
            similarity=float("nan"),
            confidence=1.0,
        )
        kid = c(seed, "defect-nan-key")
        conn.execute(
            """INSERT INTO keys (id, "userId", name, "imageUrl", signature, "sigStatus",
                                 "createdAt", "updatedAt")
            VALUES (%s, %s, 'Never matched', 'https://res.cloudinary.com/keycliq/n.jpg', %s,
                    'ready', %s, %s)""",
            (kid, uid, _SIG_LITERAL, now, now),
        )
        conn.execute(
            """INSERT INTO key_signatures (id, "keyId", signature, "confidenceScore", "createdAt",
                                         "updatedAt")
            VALUES (%s, %s, %s, 'NaN'::float8, %s, %s)""",
            (c(seed, "defect-nan-sig"), kid, _SIG_LITERAL, now, now),
        )
    elif name == "two-matchings-one-scan":
        qid = _matching(
            conn,
            seed,
            "twice-1",
            uid,
            now,
            match_type="MATCH_FOUND",
            key=key1,
            matched_signature=mode != "demo",
            mode=scan_mode,
        )
        _matching(
            conn,
            seed,
            "twice-2",
            uid,
            now,
            match_type="MATCH_FOUND",
            key=key1,
            matched_signature=mode != "demo",
            mode=scan_mode,
            scan=qid,
        )
    elif name == "matching-other-user":
        qid = _scan(conn, seed, "other-user", _row_id(seed, "u", 2), now, scan_mode)
        _matching(
            conn,
            seed,
            "other-user",
            uid,
            now,
            match_type="MATCH_FOUND",
            key=key1,
            matched_signature=mode != "demo",
            mode=scan_mode,
            scan=qid,
        )
    elif name == "missing-index":
        conn.execute(f'DROP INDEX IF EXISTS "{DROPPED_INDEX}"')
    elif name == "index-wrong-order":
        _replace_index(conn, REORDERED_INDEX, "key_signatures", '"createdAt", "keyId"')
    elif name == "index-ascending":
        _replace_index(conn, ASCENDING_INDEX, "key_queries", '"userId", "createdAt"')
    elif name == "invalid-index":
        # What a failed CREATE INDEX CONCURRENTLY leaves behind; only a superuser may write
        # the catalogue, so the seeder says so instead of planting nothing.
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        if not (row and row[0]):
            raise usage(
                "the defect invalid-index needs a superuser connection (it marks an index "
                "invalid in pg_index)",
                hint="seed through the stand-in's own PostgreSQL, or leave this defect out",
            )
        conn.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
            (f'"{INVALID_INDEX}"',),
        )
    elif name == "unknown-match-type":
        _matching(
            conn,
            seed,
            "type",
            uid,
            now,
            match_type=UNKNOWN_MATCH_TYPE,
            key=key1,
            matched_signature=False,
            similarity=0.7,
            mode=scan_mode,
        )
    elif name == "stuck-pending-key":
        at = now - timedelta(hours=3)
        conn.execute(
            """INSERT INTO keys (id, "userId", name, "imageUrl", "imagePublicId", "sigStatus",
                                 "createdAt", "updatedAt")
            VALUES (%s, %s, 'Planted key', 'https://res.cloudinary.com/keycliq/stuck.jpg',
                    'keyscan/stuck', 'pending', %s, %s)""",
            (c(seed, f"defect-{name}"), uid, at, at),
        )
    elif name == "failed-signature":
        at = now - timedelta(minutes=15)
        conn.execute(
            """INSERT INTO keys (id, "userId", name, "imageUrl", "imagePublicId", "sigStatus",
                                 "createdAt", "updatedAt")
            VALUES (%s, %s, 'Planted key', 'https://res.cloudinary.com/keycliq/failed.jpg',
                    'keyscan/failed', 'failed', %s, %s)""",
            (c(seed, f"defect-{name}"), uid, at, at),
        )
    elif name == "expired-tokens":
        for n, used in ((1, False), (2, False), (3, True)):
            conn.execute(
                """INSERT INTO "PasswordResetToken" (id, "userId", "tokenHash", "expiresAt", used,
                                                     "createdAt")
                VALUES (%s, %s, %s, %s::timestamp - interval '30 days', %s,
                        %s::timestamp - interval '30 days' - interval '1 hour')""",
                (
                    c(seed, f"defect-token-{n}"),
                    _row_id(seed, "u", 1 + n),
                    c(seed, f"defect-hash-{n}") * 2,
                    now,
                    used,
                    now,
                ),
            )
    else:  # pragma: no cover - names are validated before
        raise AssertionError(name)


def _skip_fk_triggers(conn: Any) -> bool:
    """Bulk-load without per-row foreign-key triggers when allowed (superuser only).

    The generated rows reference each other by construction; the planted rows and the
    deleted key are written after the triggers are back on.
    """
    from keycliq_ops.standin import pgclient

    return pgclient.try_replica_role(conn)


def _drop_secondary_indexes(conn: Any) -> list[str]:
    """Drop the schema's secondary indexes that exist; return the statements re-creating them.

    Building an index once after the load is several times faster than maintaining it row
    by row. Everything happens in the seeding transaction, so a failure leaves them in place.
    """
    creates = [
        line.rstrip(";")
        for line in SCHEMA_SQL.read_text(encoding="utf-8").splitlines()
        if line.startswith("CREATE INDEX ")
    ]
    rebuild: list[str] = []
    for create in creates:
        name = create.split('"')[1]
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{name}"',)).fetchone()
        if row and row[0]:
            conn.execute(f'DROP INDEX "{name}"')
            rebuild.append(create)
    return rebuild


def _statements(seed: int, scale: int, mode: str) -> list[str]:
    rows = {"clean": _clean_statements, "app": _app_statements, "demo": _demo_statements}[mode]
    return [*_common_statements(seed, scale), *rows(seed, scale)]


def seed(
    database_url: str,
    *,
    scale: int = 1,
    defects: Collection[str] = (),
    seed: int = 0,
    now: datetime | None = None,
    mode: str = "clean",
) -> SeedSummary:
    """Fill an empty KeyCliq database (the schema is applied when missing).

    ``mode`` is ``clean``, ``app`` or ``demo`` (the module's docstring says what each
    writes). ``defects`` names entries of :data:`DEFECTS` to plant on top. ``now`` (naive
    UTC; default: the current time) anchors every timestamp.
    """
    from keycliq_ops.standin import pgclient

    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise usage(f"scale must be a whole number ≥ 1, not {scale!r}")
    if mode not in MODES:
        raise usage(f"unknown seeding mode {mode!r}", hint=f"modes: {', '.join(MODES)}")
    unknown = sorted(set(defects) - set(DEFECTS))
    if unknown:
        raise usage(
            f"unknown defect(s): {', '.join(unknown)}",
            hint=f"known defects: {', '.join(DEFECTS)}",
        )
    if now is None:
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    elif now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    apply_schema(database_url)
    uid = sample_user_id(seed)
    key1 = _row_id(seed, "k", 1)  # the sample user's first key (ready, or failed in demo)
    ordered = [d for d in DEFECTS if d in set(defects)]
    anchor = f"'{now.isoformat(sep=' ')}'::timestamp"
    with pgclient.connect(database_url, action="seeding the database") as conn:
        row = conn.execute('SELECT EXISTS (SELECT 1 FROM "User")').fetchone()
        if row and row[0]:
            raise usage(
                f"the database at {pgclient.describe(database_url)} already has KeyCliq users",
                hint="seed an empty database (the seeder does not mix with existing rows)",
            )
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        with conn.transaction():
            skipped = _skip_fk_triggers(conn)
            rebuild = _drop_secondary_indexes(conn)
            for stmt in _statements(seed, scale, mode):
                pgclient.raw_execute(conn, stmt.replace("$1::timestamp", anchor), ())
            for create in rebuild:
                conn.execute(create)
            if skipped:
                conn.execute("SET LOCAL session_replication_role = DEFAULT")
            _deleted_key(conn, seed, uid, now, mode)
            for name in ordered:
                _plant(conn, name, seed=seed, uid=uid, key1=key1, now=now, mode=mode)
        conn.execute("VACUUM ANALYZE")
        counts: dict[str, int] = {}
        for table in (
            '"User"',
            '"Session"',
            '"PasswordResetToken"',
            "keys",
            "key_signatures",
            "key_queries",
            "key_matchings",
        ):
            got = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts[table.strip('"')] = int(got[0]) if got else 0
        got = conn.execute(
            """SELECT count(*) FROM key_matchings WHERE "matchType" = 'MATCH_FOUND'
               AND "matchedKeyId" IS NULL
               AND ("matchedSignature" IS NOT NULL OR "comparisonResult" ->> 'mode' = 'demo')"""
        ).fetchone()
        deleted = int(got[0]) if got else 0
    return SeedSummary(
        scale=scale,
        seed=seed,
        now=now,
        counts=counts,
        defects=tuple(ordered),
        sample_user_id=uid,
        deleted_key_matchings=deleted,
        mode=mode,
    )
