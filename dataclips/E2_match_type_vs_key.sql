-- id: E2
-- title: matchType agrees with matchedKeyId
-- description: MATCH_FOUND must name a key and NO_MATCH must not. A MATCH_FOUND whose key
--   was deleted later has a null "matchedKeyId" (ON DELETE SET NULL) but still carries the
--   "matchedSignature" it matched: those are known and explainable and are counted apart
--   (match_found_key_deleted). A MATCH_FOUND with neither key nor matched signature never
--   matched anything: that is the defect (match_found_without_key).
-- severity: critical
-- tags: integrity, before-promote, after-deploy
-- expect: match_found_without_key = 0
-- expect: no_match_with_key = 0
SELECT
    count(*) FILTER (
        WHERE "matchType" = 'MATCH_FOUND' AND "matchedKeyId" IS NULL
          AND "matchedSignature" IS NULL
    ) AS match_found_without_key,
    count(*) FILTER (
        WHERE "matchType" = 'NO_MATCH' AND "matchedKeyId" IS NOT NULL
    ) AS no_match_with_key,
    count(*) FILTER (
        WHERE "matchType" = 'MATCH_FOUND' AND "matchedKeyId" IS NULL
          AND "matchedSignature" IS NOT NULL
    ) AS match_found_key_deleted,
    count(*) FILTER (WHERE "matchType" = 'MATCH_FOUND') AS match_found,
    count(*) FILTER (WHERE "matchType" = 'NO_MATCH') AS no_match
FROM key_matchings;
