"""Files of the sample repository that stand in for the app's own code paths.

The shipped staging checklist runs the app's functions in one-off dynos with ``node -e``
(``getUserStats``, ``getUserHistory``, ``saveMatchingResult``, a Prisma query of the
user's keys). The stand-in's dynos have no Node, only this Python interpreter (``python``),
``psql`` and ``DATABASE_URL``; so the sample repository carries scripts that print what
those functions return, read from the database with psql, and a repository-layer
``checklists/staging.yaml`` that replaces the shipped staging checklist (the catalogue
replaces whole checklists by name) with the same items, except that its ``dyno`` items run
these scripts. ``npx prisma migrate status`` is emulated by the stand-in itself, so that
item is kept as shipped.

The sample repository builder commits every file of :data:`APP_FILES` in its baseline.
"""

from __future__ import annotations

APP_DB_PY = r'''"""Read the KeyCliq database with psql, as the app's Prisma client would (sample).

The password never goes on a command line: the URL is handed to psql as libpq variables.
"""

import json
import os
import shutil
import subprocess
import sys
from urllib.parse import parse_qs, unquote, urlsplit

ISO = """'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"""  # how JSON.stringify writes a Prisma DateTime


def _libpq(url):
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    env = {"PGDATABASE": unquote(parts.path.lstrip("/")) or "postgres",
           "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "keycliq-sample-app"}
    host = query.get("host") or (unquote(parts.hostname) if parts.hostname else None)
    pairs = (("PGHOST", host), ("PGPORT", query.get("port") or parts.port),
             ("PGUSER", unquote(parts.username) if parts.username else None),
             ("PGPASSWORD", unquote(parts.password) if parts.password else None),
             ("PGSSLMODE", query.get("sslmode")))
    for name, value in pairs:
        if value:
            env[name] = str(value)
    return env


class DatabaseError(Exception):
    pass


def psql(sql, **variables):
    """Run ``sql`` (psql variables ``:'name'``); return its output, stripped."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise DatabaseError("Environment variable not found: DATABASE_URL.")
    program = shutil.which("psql")
    if program is None:
        raise DatabaseError("psql is not on PATH")
    argv = [program, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
    for name, value in variables.items():
        argv += ["-v", f"{name}={value}"]
    env = {**os.environ, **_libpq(url)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(argv, input=sql, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        raise DatabaseError(lines[0] if lines else f"psql exited {done.returncode}")
    return done.stdout.strip()


def query_json(sql, **variables):
    return json.loads(psql(sql, **variables))


def print_json(value):
    """What ``console.log(JSON.stringify(value, null, 2))`` prints."""
    print(json.dumps(value, indent=2, ensure_ascii=False))


def fail(error):
    """What the team's commands do on a rejected promise: the error, exit 1."""
    print(f"Error: {error}", file=sys.stderr)
    sys.exit(1)
'''

USER_STATS_PY = r'''"""getUserStats(userId) of app/lib/keys.server.js, read with psql (sample).

Usage: python scripts/user_stats.py USER_ID   (prints the same JSON the app returns)
"""

import sys

from app_db import DatabaseError, fail, print_json, query_json

SQL = """
WITH m AS (SELECT "matchType" AS t, count(*)::int AS n FROM key_matchings
            WHERE "userId" = :'uid' GROUP BY 1)
SELECT json_build_object(
  'keys', (SELECT json_build_object(
             'total', count(*),
             'pending', count(*) FILTER (WHERE "sigStatus" = 'pending'),
             'ready', count(*) FILTER (WHERE "sigStatus" = 'ready'),
             'failed', count(*) FILTER (WHERE "sigStatus" = 'failed'))
           FROM keys WHERE "userId" = :'uid'),
  'queries', json_build_object(
             'total', (SELECT count(*) FROM key_queries WHERE "userId" = :'uid')),
  'matchings', json_build_object(
             'total', (SELECT coalesce(sum(n), 0)::int FROM m),
             'byType', json_build_object(
               'MATCH_FOUND', coalesce((SELECT n FROM m WHERE t = 'MATCH_FOUND'), 0),
               'POSSIBLE_KEYS', coalesce((SELECT n FROM m WHERE t = 'POSSIBLE_KEYS'), 0),
               'NO_MATCH', coalesce((SELECT n FROM m WHERE t = 'NO_MATCH'), 0))));
"""


def main(argv):
    if len(argv) != 1:
        print("usage: python scripts/user_stats.py USER_ID", file=sys.stderr)
        return 2
    try:
        print_json(query_json(SQL, uid=argv[0]))
    except DatabaseError as exc:
        fail(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''

USER_HISTORY_PY = r'''"""getUserHistory(userId, limit) of app/lib/analytics.server.js (sample).

Usage: python scripts/user_history.py USER_ID [LIMIT]   (LIMIT defaults to 50, as the app)
The user's scans newest first, each with all its matchings (newest first) and their key.
"""

import sys

from app_db import ISO, DatabaseError, fail, print_json, query_json

SQL = f"""
SELECT coalesce(json_agg(json_build_object(
  'query', json_build_object('id', q.id, 'createdAt', to_char(q."createdAt", {ISO}),
                             'result', q.result),
  'matchings', (SELECT coalesce(json_agg(json_build_object(
                   'id', m.id, 'matchType', m."matchType", 'similarity', m.similarity,
                   'matchedKey', CASE WHEN k.id IS NULL THEN NULL ELSE json_build_object(
                       'id', k.id, 'name', k.name, 'description', k.description) END,
                   'createdAt', to_char(m."createdAt", {ISO}))
                 ORDER BY m."createdAt" DESC), '[]'::json)
                FROM key_matchings m LEFT JOIN keys k ON k.id = m."matchedKeyId"
                WHERE m."keyQueryId" = q.id))
  ORDER BY q."createdAt" DESC), '[]'::json)
FROM (SELECT * FROM key_queries WHERE "userId" = :'uid'
      ORDER BY "createdAt" DESC LIMIT :lim) q;
"""


def main(argv):
    if len(argv) not in (1, 2) or (len(argv) == 2 and not argv[1].isdigit()):
        print("usage: python scripts/user_history.py USER_ID [LIMIT]", file=sys.stderr)
        return 2
    limit = int(argv[1]) if len(argv) == 2 else 50
    try:
        print_json(query_json(SQL, uid=argv[0], lim=limit))
    except DatabaseError as exc:
        fail(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''

USER_KEYS_PY = r'''"""The user's keys: how many are ready, which ready key has no signature.

Usage: python scripts/user_keys.py USER_ID
Prints what the shipped checklist's Prisma query prints: {total, ready,
readyWithoutSignature: [ids], notReady: [{id, sigStatus}]}.
"""

import sys

from app_db import DatabaseError, fail, print_json, query_json

SQL = """
SELECT json_build_object(
  'total', count(*),
  'ready', count(*) FILTER (WHERE k."sigStatus" = 'ready'),
  'readyWithoutSignature', coalesce(json_agg(k.id) FILTER (
      WHERE k."sigStatus" = 'ready'
        AND NOT EXISTS (SELECT 1 FROM key_signatures s WHERE s."keyId" = k.id)), '[]'::json),
  'notReady', coalesce(json_agg(json_build_object('id', k.id, 'sigStatus', k."sigStatus"))
      FILTER (WHERE k."sigStatus" <> 'ready'), '[]'::json))
FROM keys k WHERE k."userId" = :'uid';
"""


def main(argv):
    if len(argv) != 1:
        print("usage: python scripts/user_keys.py USER_ID", file=sys.stderr)
        return 2
    try:
        print_json(query_json(SQL, uid=argv[0]))
    except DatabaseError as exc:
        fail(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''

SAVE_MATCHING_PY = r'''"""saveMatchingResult of app/lib/matching.server.js, emulated (sample).

Usage: python scripts/save_matching.py --user-id U --query-id Q [--matched-key-id K]
           --match-type T --similarity S --confidence C

Logs what the app logs, refuses what the app's validation refuses (MATCH_FOUND without a
key, NO_MATCH with one: code VALIDATION_ERROR), else inserts the matching. Like the
shipped checklist's command, a refused save prints {"message", "code"} as JSON and exits
0; a save that goes through prints "saved: …" and exits 1.
"""

import argparse
import json
import secrets
import sys

from app_db import DatabaseError, psql

INSERT = """
INSERT INTO key_matchings (id, "userId", "keyQueryId", "matchedKeyId", "matchType",
                           similarity, confidence, "querySignature", "createdAt", "updatedAt")
VALUES (:'id', :'uid', :'qid', NULLIF(:'kid', ''), :'type', :sim, :conf, '{}'::jsonb,
        now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
RETURNING id;
"""


class SaveError(Exception):
    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        self.code = code


def save_matching_result(user_id, query_id, matched_key_id, match_type, similarity, confidence):
    print("\U0001f4be Saving matching result to database...")
    print(f"   User ID: {user_id}")
    print(f"   Key Query ID: {query_id}")
    print(f"   Matched Key ID: {matched_key_id or 'None'}")
    print(f"   Match Type: {match_type}")
    print(f"   Similarity: {similarity * 100:.1f}%")
    print(f"   Confidence: {confidence * 100:.1f}%")
    try:
        if match_type == "MATCH_FOUND" and not matched_key_id:
            raise SaveError("MATCH_FOUND requires matchedKeyId", "VALIDATION_ERROR")
        if match_type == "NO_MATCH" and matched_key_id:
            raise SaveError("NO_MATCH should not have matchedKeyId", "VALIDATION_ERROR")
        try:
            new_id = psql(INSERT, id="c" + secrets.token_hex(12), uid=user_id, qid=query_id,
                          kid=matched_key_id or "", type=match_type, sim=similarity,
                          conf=confidence)
        except DatabaseError as exc:
            code = "P2003" if "foreign key" in str(exc) else None
            raise SaveError(f"Invalid `prisma.keyMatching.create()` invocation: {exc}", code)
    except SaveError as exc:
        print(f"\u274c Failed to save matching result: {exc.message}", file=sys.stderr)
        raise
    print("\u2705 Matching result saved successfully")
    print(f"   Matching ID: {new_id}")
    return new_id


def main(argv):
    parser = argparse.ArgumentParser(prog="python scripts/save_matching.py")
    parser.add_argument("--user-id", required=True)
    parser.add_argument("--query-id", required=True)
    parser.add_argument("--matched-key-id", default=None)
    parser.add_argument("--match-type", required=True)
    parser.add_argument("--similarity", type=float, required=True)
    parser.add_argument("--confidence", type=float, required=True)
    args = parser.parse_args(argv)
    try:
        save_matching_result(args.user_id, args.query_id, args.matched_key_id,
                             args.match_type, args.similarity, args.confidence)
    except SaveError as err:
        print(json.dumps({"message": err.message, "code": err.code}))
        return 0
    print("saved: the validation did not refuse it")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''

STAGING_OVERLAY = """\
# The sample repository's staging checklist (repository layer): the shipped staging
# checklist item for item, except that its `dyno` items run the sample's scripts
# (scripts/*.py: the stand-in's dynos have Python and psql, no Node). The item ids, kinds
# and texts are the shipped ones, so the same answers file answers both.
version: 1
title: Staging release checklist
description: >-
  Walk after every deploy to {app} ({app_url}) at commit {commit}, before promoting to
  production: the team's staging procedure (preparation, manual tests, the app's own
  functions run in one-off dynos, the validations, the Dataclips). Sample repository:
  the dyno items run scripts/*.py in place of the app's node commands.

sections:
  - title: "A. Preparation"
    items:
      - id: deployed
        kind: confirm
        text: The branch is deployed to {app} and its release succeeded.
        help: |
          keycliq status
          heroku releases --app {app} -n 3
      - id: app-up
        kind: http
        source: keycliq
        text: The app answers on its public URL after the deploy.
        url: "{app_url}/"
        expect_status: 200
      - id: migrations-applied
        kind: dyno
        text: >-
          The database matches prisma/schema.prisma: every table, column and index of the
          schema is there (prisma migrate diff, which holds with a migration history and
          with db push alike).
        command: >-
          npx prisma migrate diff --from-url "$DATABASE_URL"
          --to-schema-datamodel prisma/schema.prisma --exit-code
        expect_text: "No difference detected."
        timeout: 300
        help: |
          The team's own step: heroku run --app {app} -- npx prisma migrate status
          (it fails on a database built with db push: "not managed by Prisma Migrate")
          The team's fallback when the schema is behind:
          heroku run --app {app} -- npx prisma db push
      - id: indexes
        kind: dataclip
        text: The seven non-primary-key indexes exist (check F).
        dataclips: [F]

  - title: "B. Manual tests"
    items:
      - id: fresh-account
        kind: confirm
        text: >-
          A fresh account is created on {app_url} for this run, and its key inventory
          starts empty.
      - id: test-user
        kind: input
        name: userId
        text: The new account's userId (the "User".id of the account just created).
        pattern: "^[a-z][a-z0-9]{19,31}$"
        example: ckz1q2w3e4r5t6y7u8i9o0p1a
      - id: new-user-stats
        kind: dataclip
        source: keycliq
        text: The userId names an existing user (check B finds it).
        dataclips: [B]
        params: {userId: "{userId}"}
      - id: scan-match-found
        kind: confirm
        text: >-
          With 1-2 keys added to the inventory from the app, scanning one of them again
          shows MATCH_FOUND with that inventory key as the match.
      - id: scan-no-match
        kind: confirm
        text: >-
          Scanning a completely different key shows NO_MATCH, with no matched key (no
          matchedKeyId).
      - id: scan-possible-keys
        kind: confirm
        required: false
        text: >-
          With 2-3 identical keys in the inventory, a scan matching all of them shows
          POSSIBLE_KEYS (several perfect matches).
      - id: keys-created
        kind: confirm
        text: 1-2 new keys, each with a photo, are created in the inventory from the app.
      - id: keys-ready
        kind: dyno
        text: >-
          The test user's keys reach sigStatus "ready", and every ready key has a
          key_signatures row.
        command: python scripts/user_keys.py {userId}
        expect_json:
          total: {type: integer, min: 1}
          ready: {type: integer, min: 1}
          readyWithoutSignature: {type: array, max_items: 0}
          notReady: {type: array}
        timeout: 120
      - id: key-deleted
        kind: confirm
        text: A key that has an image (imagePublicId set) is deleted from the app.
      - id: deleted-key
        kind: input
        name: keyId
        text: The id of the key just deleted (keys.id, noted before deleting it).
        pattern: "^[a-z][a-z0-9]{19,31}$"
        example: ckz9k8j7h6g5f4d3s2a1q0w9e
      - id: deletion-verified
        kind: dataclip
        text: >-
          The deleted key is gone from the database: no key row, no signature left (cascade),
          no matching still naming it (set null) (check J).
        dataclips: [J]
        params: {keyId: "{keyId}"}

  - title: "C. Internal queries (the app's functions)"
    items:
      - id: user-stats
        kind: dyno
        text: >-
          getUserStats(userId) returns the test user's keys by sigStatus, scans, and
          matchings in total and by type.
        command: python scripts/user_stats.py {userId}
        expect_json:
          keys.total: {type: integer, min: 1}
          keys.pending: {type: integer, min: 0}
          keys.ready: {type: integer, min: 0}
          keys.failed: {type: integer, min: 0}
          queries.total: {type: integer, min: 2}
          matchings.total: {type: integer, min: 1}
          matchings.byType: {type: object}
          matchings.byType.MATCH_FOUND: {type: integer, min: 1}
          matchings.byType.POSSIBLE_KEYS: {type: integer, min: 0}
          matchings.byType.NO_MATCH: {type: integer, min: 0}
        timeout: 120
      - id: user-history
        kind: dyno
        text: >-
          getUserHistory(userId, 10) returns the test user's scans newest first, each with
          its query (id, createdAt, result.signature) and its matchings.
        command: python scripts/user_history.py {userId} 10
        expect_json:
          $: {type: array, min_items: 1, max_items: 10}
          "[*].query.id": {type: string}
          "[*].query.createdAt": {type: string, order: descending}
          "[*].query.result.signature": {present: true}
          "[*].matchings": {type: array}
          "[*].matchings[*].matchType": {type: string}
          "[*].matchings[*].similarity": {type: number}
          "[*].matchings[*].matchedKey": {type: object, nullable: true}
        timeout: 120

  - title: "D. Validations"
    items:
      - id: validation-match-found-without-key
        kind: dyno
        text: >-
          saveMatchingResult refuses a MATCH_FOUND without matchedKeyId: "MATCH_FOUND
          requires matchedKeyId", code VALIDATION_ERROR.
        command: >-
          python scripts/save_matching.py --user-id {userId}
          --query-id keycliq-checklist-no-such-scan --match-type MATCH_FOUND
          --similarity 1.0 --confidence 1.0
        expect_text: "MATCH_FOUND requires matchedKeyId"
        expect_json:
          message: {equals: "MATCH_FOUND requires matchedKeyId"}
          code: {equals: VALIDATION_ERROR}
        timeout: 120
      - id: validation-no-match-with-key
        kind: dyno
        text: >-
          saveMatchingResult refuses a NO_MATCH with a matchedKeyId: "NO_MATCH should not
          have matchedKeyId", code VALIDATION_ERROR.
        command: >-
          python scripts/save_matching.py --user-id {userId}
          --query-id keycliq-checklist-no-such-scan
          --matched-key-id keycliq-checklist-no-such-key --match-type NO_MATCH
          --similarity 0.5 --confidence 0.5
        expect_text: "NO_MATCH should not have matchedKeyId"
        expect_json:
          message: {equals: "NO_MATCH should not have matchedKeyId"}
          code: {equals: VALIDATION_ERROR}
        timeout: 120

  - title: "E. Dataclips"
    items:
      - id: integrity
        kind: dataclip
        text: >-
          The integrity gate is clean (E1 signature references, E2 matchType vs key, E3 score
          ranges, E4 one matching per scan and of the scan's user).
        dataclips: [E1, E2, E3, E4]
      - id: user-dataclips
        kind: dataclip
        text: >-
          The test user's Dataclips run: keys by sigStatus (B), scans and matchings by
          type (C), recent history (D).
        dataclips: [B, C, D]
        params: {userId: "{userId}"}
      - id: global-counts
        kind: dataclip
        text: Global counts (check A) run.
        dataclips: [A]
"""

APP_FILES: dict[str, str] = {
    "scripts/app_db.py": APP_DB_PY,
    "scripts/user_stats.py": USER_STATS_PY,
    "scripts/user_history.py": USER_HISTORY_PY,
    "scripts/user_keys.py": USER_KEYS_PY,
    "scripts/save_matching.py": SAVE_MATCHING_PY,
    "checklists/staging.yaml": STAGING_OVERLAY,
}
