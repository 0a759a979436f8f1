"""A deterministic seeder for KeyCliq-shaped databases, able to plant each Dataclip defect.

``apply_schema(url)`` creates the KeyCliq tables and their seven indexes
(``standin/sample/schema.sql``) unless they exist. ``seed(url, scale=, defects=, seed=)``
writes realistic rows with server-side ``INSERT … SELECT … generate_series`` (no Python
loops), so a million matchings take seconds. Every value derives from the row number and
``seed`` through ``hashint8extended``/``md5``: the same ``seed`` and ``now`` give the same rows.

Per unit of ``scale``: 10 users (one session and one password-reset token each), 100 keys,
1,000 scans (``key_queries``) with one matching each, a signature per ready key and one per
fourth scan. The sample user (``SeedSummary.sample_user_id``) owns a key in each sigStatus and
a matching of each type.

What "clean" means, so that each check can tell data from defect:

- keys: ``ready`` (signature row present), ``pending`` only for the last 10 minutes, ``failed``
  only long ago (days). A key pending for hours (``stuck-pending-key``) or that failed in the
  last hour (``failed-signature``) is what check H reports.
- MATCH_FOUND with a null ``matchedKeyId`` exists in two forms. A key deleted after the match
  (``ON DELETE SET NULL``) leaves ``matchedSignature`` in place: the snapshot of the key that
  matched. Clean data has such rows (about 2 % of MATCH_FOUND, plus one key really deleted
  through the foreign key). A true defect (``match-found-without-key``) has neither key nor
  matched signature: nothing ever matched. Check E2 counts the two apart and fails only on
  the second.
- password-reset tokens: active, recently expired (< 12 h) and recently used (< 20 h); the
  cleanup backlog that check I warns about (``expired-tokens``) is tokens expired or used
  more than a day ago.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keycliq_ops.standin.failures import usage

SCHEMA_SQL = Path(__file__).resolve().parent / "schema.sql"

USERS_PER_SCALE = 10
KEYS_PER_SCALE = 100
SCANS_PER_SCALE = 1_000

DEFECTS: dict[str, str] = {
    "xor-both-null": "a key_signatures row with neither keyId nor keyQueryId (E1)",
    "xor-both-set": "a key_signatures row with both keyId and keyQueryId (E1)",
    "match-found-without-key": "MATCH_FOUND with no key and no matched signature (E2)",
    "no-match-with-key": "NO_MATCH that names a matched key (E2)",
    "score-out-of-range": "similarity > 1, confidence < 0 and a confidenceScore > 1 (E3)",
    "missing-index": 'the index "key_matchings_userId_matchType_idx" dropped (F)',
    "unknown-match-type": "a matching whose matchType is POSSIBLE_MATCH (G)",
    "stuck-pending-key": "a key still pending after 3 hours (H)",
    "failed-signature": "a key whose signature failed 15 minutes ago (H)",
    "expired-tokens": "password-reset tokens expired or used a month ago (I)",
}

DROPPED_INDEX = "key_matchings_userId_matchType_idx"


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


def _row_id(seed: int, kind: str, n: int) -> str:
    """The id that ``_uid``/``_kid``/``_qid`` give row ``n`` (computed in Python)."""
    import hashlib

    digest = hashlib.md5(f"{seed}:{kind}:{n}".encode(), usedforsecurity=False).hexdigest()
    return f"c{n:08x}{digest[:16]}"


def sample_user_id(seed: int = 0) -> str:
    """The id of user number 1, who owns a key in each sigStatus and each matching type."""
    return _row_id(seed, "u", 1)


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


def _statements(seed: int, scale: int) -> list[str]:
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
    matched_key = f"{user_of} + {nu} * (abs(hashint8extended(g, {s * 64 + 13})) % {kpu})"
    sig = (
        "jsonb_build_object('version', 6, 'bitting', "
        "jsonb_build_array(g % 7, g % 5, g % 9, g % 4, g % 6), 'profile', "
        "(ARRAY['KW1','SC1','Y1','M1','AR4'])[1 + g % 5], 'blade', 'standard')"
    )
    return [
        f"""INSERT INTO "User" (id, email, password, role, "createdAt", "updatedAt")
        SELECT {_uid(s, "g")}, 'user' || g || '.{s}@example.com',
               '$2a$10$' || substr(md5('{s}:pw:' || g), 1, 22)
                         || substr(md5('{s}:pw2:' || g), 1, 31),
               CASE WHEN g = 2 THEN 'ADMIN' ELSE 'USER' END, t, t
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
               md5('{s}:tok:' || g) || md5('{s}:t2:' || g),
               CASE kind WHEN 'active'
                         THEN $1::timestamp + interval '10 minutes' + r * interval '50 minutes'
                         WHEN 'expired' THEN $1::timestamp - r * interval '12 hours'
                         ELSE $1::timestamp - r * interval '20 hours' + interval '1 hour' END,
               kind = 'used',
               CASE kind WHEN 'active' THEN $1::timestamp - interval '10 minutes'
                         WHEN 'expired'
                         THEN $1::timestamp - r * interval '12 hours' - interval '1 hour'
                         ELSE $1::timestamp - r * interval '20 hours' END
        FROM (SELECT g, {_r(s, 2)} AS r,
                     CASE WHEN g = 1 THEN 'active' WHEN g = 2 THEN 'expired' WHEN g = 3 THEN 'used'
                          WHEN {_r(s, 4)} < 0.6 THEN 'active' WHEN {_r(s, 4)} < 0.8 THEN 'expired'
                          ELSE 'used' END AS kind
              FROM generate_series(1, {nu}) g) x""",
        f"""INSERT INTO keys (id, "userId", name, description, unit, door, notes, "imageUrl",
                           "imagePublicId", signature, "sigStatus", "createdAt", "updatedAt")
        SELECT {_kid(s, "g")}, {_uid(s, user_of)},
               (ARRAY['Front door','Back door','Garage','Mailbox','Office','Storage','Bike lock',
                      'Basement','Gate','Cabinet'])[1 + g % 10] || ' ' || (1 + g / {nu * 10}),
               CASE WHEN g % 3 = 0 THEN NULL ELSE 'Key ' || g || ' on the blue ring' END,
               CASE WHEN g % 4 = 0 THEN 'Unit ' || (1 + g % 40) END,
               CASE WHEN g % 5 = 0 THEN 'Door ' || (1 + g % 12) END,
               NULL,
               'https://res.cloudinary.com/keycliq/image/upload/v1/keys/'
                   || md5('{s}:img:' || g) || '.jpg',
               'keys/' || md5('{s}:img:' || g),
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
               jsonb_build_object('signature', {sig},
                                  'timestamp', to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
               'completed', t, t + interval '3 seconds'
        FROM (SELECT g, {scan_at} AS t FROM generate_series(1, {nq}) g) x""",
        f"""INSERT INTO key_signatures (id, "keyQueryId", signature, "imageUrl", "confidenceScore",
                                     "createdAt", "updatedAt")
        SELECT {_id(s, "qs", "g")}, {_qid(s, "g")}, {sig},
               'https://res.cloudinary.com/keycliq/image/upload/v1/scans/'
                   || md5('{s}:qi:' || g) || '.jpg',
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


def _deleted_key(conn: Any, seed: int, uid: str, now: datetime) -> None:
    """A key of the sample user, matched twice, then deleted through the foreign keys."""
    kid = _cid(seed, "doomed-key")
    conn.execute(
        """INSERT INTO keys (id, "userId", name, signature, "sigStatus", "createdAt", "updatedAt")
        VALUES (%s, %s, 'Old shed', '{"version": 6}', 'ready', %s::timestamp - interval '40 days',
                %s::timestamp - interval '40 days')""",
        (kid, uid, now, now),
    )
    conn.execute(
        """INSERT INTO key_signatures (id, "keyId", signature, "confidenceScore", "createdAt",
                                     "updatedAt")
        VALUES (%s, %s, '{"version": 6}', 0.91, %s::timestamp - interval '40 days',
                %s::timestamp - interval '40 days')""",
        (_cid(seed, "doomed-sig"), kid, now, now),
    )
    for n in (1, 2):
        qid = _cid(seed, f"doomed-scan-{n}")
        conn.execute(
            """INSERT INTO key_queries (id, "userId", result, status, "createdAt", "updatedAt")
            VALUES (%s, %s, '{}', 'completed', %s::timestamp - interval '30 days',
                    %s::timestamp - interval '30 days')""",
            (qid, uid, now, now),
        )
        conn.execute(
            """INSERT INTO key_matchings (id, "userId", "keyQueryId", "matchedKeyId", "matchType",
                 similarity, confidence, "querySignature", "matchedSignature", "createdAt",
                 "updatedAt")
            VALUES (%s, %s, %s, %s, 'MATCH_FOUND', 0.93, 0.9, '{"version": 6}', '{"version": 6}',
                    %s::timestamp - interval '30 days', %s::timestamp - interval '30 days')""",
            (_cid(seed, f"doomed-match-{n}"), uid, qid, kid, now, now),
        )
    conn.execute("DELETE FROM keys WHERE id = %s", (kid,))


def _scan(conn: Any, seed: int, tag: str, uid: str, now: datetime) -> str:
    qid = _cid(seed, f"defect-scan-{tag}")
    conn.execute(
        """INSERT INTO key_queries (id, "userId", result, status, "createdAt", "updatedAt")
        VALUES (%s, %s, '{}', 'completed', %s, %s)""",
        (qid, uid, now, now),
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
) -> None:
    qid = _scan(conn, seed, tag, uid, now)
    conn.execute(
        """INSERT INTO key_matchings (id, "userId", "keyQueryId", "matchedKeyId", "matchType",
             similarity, confidence, "querySignature", "matchedSignature", "createdAt", "updatedAt")
        VALUES (%s, %s, %s, %s, %s, %s, %s, '{"version": 6}', %s, %s, %s)""",
        (
            _cid(seed, f"defect-match-{tag}"),
            uid,
            qid,
            key,
            match_type,
            similarity,
            confidence,
            '{"version": 6}' if matched_signature else None,
            now,
            now,
        ),
    )


def _plant(conn: Any, name: str, *, seed: int, uid: str, key1: str, now: datetime) -> None:
    c = _cid
    if name == "xor-both-null":
        conn.execute(
            """INSERT INTO key_signatures (id, signature, "confidenceScore", "createdAt",
                                         "updatedAt")
            VALUES (%s, '{"version": 6}', 0.8, %s, %s)""",
            (c(seed, "defect-xor-null"), now, now),
        )
    elif name == "xor-both-set":
        qid = _scan(conn, seed, "xor", uid, now)
        conn.execute(
            """INSERT INTO key_signatures (id, "keyId", "keyQueryId", signature, "confidenceScore",
                                         "createdAt", "updatedAt")
            VALUES (%s, %s, %s, '{"version": 6}', 0.8, %s, %s)""",
            (c(seed, "defect-xor-set"), key1, qid, now, now),
        )
    elif name == "match-found-without-key":
        _matching(
            conn, seed, "mf", uid, now, match_type="MATCH_FOUND", key=None, matched_signature=False
        )
    elif name == "no-match-with-key":
        _matching(
            conn, seed, "nm", uid, now, match_type="NO_MATCH", key=key1, matched_signature=False
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
            match_type="NO_MATCH",
            key=None,
            matched_signature=False,
            similarity=0.2,
            confidence=-0.1,
        )
        conn.execute(
            """INSERT INTO key_signatures (id, "keyId", signature, "confidenceScore", "createdAt",
                                         "updatedAt")
            VALUES (%s, %s, '{"version": 6}', 1.6, %s, %s)""",
            (c(seed, "defect-score-sig"), key1, now, now),
        )
    elif name == "missing-index":
        conn.execute(f'DROP INDEX IF EXISTS "{DROPPED_INDEX}"')
    elif name == "unknown-match-type":
        _matching(
            conn,
            seed,
            "type",
            uid,
            now,
            match_type="POSSIBLE_MATCH",
            key=None,
            matched_signature=False,
            similarity=0.7,
        )
    elif name in ("stuck-pending-key", "failed-signature"):
        status, age = (
            ("pending", "3 hours") if name == "stuck-pending-key" else ("failed", "15 min")
        )
        conn.execute(
            """INSERT INTO keys (id, "userId", name, "sigStatus", "createdAt", "updatedAt")
            VALUES (%s, %s, 'Planted key', %s, %s::timestamp - %s::interval - interval '1 minute',
                    %s::timestamp - %s::interval)""",
            (c(seed, f"defect-{name}"), uid, status, now, age, now, age),
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
                    uid,
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


def seed(
    database_url: str,
    *,
    scale: int = 1,
    defects: Collection[str] = (),
    seed: int = 0,
    now: datetime | None = None,
) -> SeedSummary:
    """Fill an empty KeyCliq database (the schema is applied when missing).

    ``defects`` names entries of :data:`DEFECTS` to plant on top of the clean data. ``now``
    (naive UTC; default: the current time) anchors every timestamp.
    """
    from keycliq_ops.standin import pgclient

    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise usage(f"scale must be a whole number ≥ 1, not {scale!r}")
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
    key1 = _row_id(seed, "k", 1)  # the sample user's ready key
    ordered = [d for d in DEFECTS if d in set(defects)]
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
            for stmt in _statements(seed, scale):
                pgclient.raw_execute(conn, stmt, (now,))
            for create in rebuild:
                conn.execute(create)
            if skipped:
                conn.execute("SET LOCAL session_replication_role = DEFAULT")
            _deleted_key(conn, seed, uid, now)
            for name in ordered:
                _plant(conn, name, seed=seed, uid=uid, key1=key1, now=now)
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
               AND "matchedKeyId" IS NULL AND "matchedSignature" IS NOT NULL"""
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
    )
