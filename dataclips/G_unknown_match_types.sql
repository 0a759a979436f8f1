-- id: G
-- title: No matchType outside the three known ones
-- description: The app writes MATCH_FOUND, POSSIBLE_KEYS and NO_MATCH. Any other value
--   (e.g. POSSIBLE_MATCH from an old schema comment) is a defect; each row is one such value
--   with how many matchings carry it and when it was first and last written.
-- severity: high
-- tags: integrity, before-promote, after-deploy
-- expect: rows = 0
SELECT
    "matchType" AS match_type,
    count(*) AS matchings,
    min("createdAt") AS first_seen,
    max("createdAt") AS last_seen
FROM key_matchings
WHERE "matchType" NOT IN ('MATCH_FOUND', 'POSSIBLE_KEYS', 'NO_MATCH')
GROUP BY "matchType"
ORDER BY count(*) DESC;
