-- id: E2
-- title: matchType agrees with matchedKeyId
-- description: MATCH_FOUND must name a key and NO_MATCH must not (the app's
--   saveMatchingResult refuses both mistakes). A MATCH_FOUND whose key was deleted later has
--   a null "matchedKeyId" (ON DELETE SET NULL) and leaves a trace of the match: in normal
--   mode the "matchedSignature" it matched (match_found_key_deleted), in demo mode (no
--   OPENAI_API_KEY) only "comparisonResult" = {"mode": "demo", …}, as the demo path never
--   stores a matched signature (match_found_key_deleted_demo). Both are explained and
--   counted apart. A MATCH_FOUND with no key and no such trace never matched anything:
--   that is the defect (match_found_without_key).
-- severity: critical
-- tags: integrity, before-promote, after-deploy
-- expect: match_found_without_key = 0
--   why: MATCH_FOUND with no key, no matched signature and not from demo mode; the app's
--   save (app/lib/matching.server.js) refuses a MATCH_FOUND without a key
-- expect: no_match_with_key = 0
--   why: NO_MATCH naming a key; the app's save refuses it (NO_MATCH should not have
--   matchedKeyId), so another writer made it
SELECT
    count(*) FILTER (
        WHERE "matchType" = 'MATCH_FOUND' AND "matchedKeyId" IS NULL
          AND "matchedSignature" IS NULL
          AND "comparisonResult" ->> 'mode' IS DISTINCT FROM 'demo'
    ) AS match_found_without_key,
    count(*) FILTER (
        WHERE "matchType" = 'NO_MATCH' AND "matchedKeyId" IS NOT NULL
    ) AS no_match_with_key,
    count(*) FILTER (
        WHERE "matchType" = 'MATCH_FOUND' AND "matchedKeyId" IS NULL
          AND "matchedSignature" IS NOT NULL
    ) AS match_found_key_deleted,
    count(*) FILTER (
        WHERE "matchType" = 'MATCH_FOUND' AND "matchedKeyId" IS NULL
          AND "matchedSignature" IS NULL AND "comparisonResult" ->> 'mode' = 'demo'
    ) AS match_found_key_deleted_demo,
    count(*) FILTER (WHERE "matchType" = 'MATCH_FOUND') AS match_found,
    count(*) FILTER (WHERE "matchType" = 'NO_MATCH') AS no_match
FROM key_matchings;
