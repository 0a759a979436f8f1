-- id: E4
-- title: At most one matching per scan, of the scan's own user
-- description: processKeyImageV6 (app/lib/keyscan.server.js) saves one scan
--   (key_queries) and at most one matching for it, with the scan's "userId". Two matchings
--   for one scan (history and stats count it twice) or a matching whose "userId" differs
--   from its scan's (one user's result in another's history) are defects. A scan without a
--   matching is what the app writes for a NO_MATCH against a non-empty inventory, or when
--   saving the matching failed: counted and reported as a warning.
-- severity: critical
-- tags: integrity, before-promote, after-deploy
-- expect: scans_with_several_matchings = 0
--   why: the app saves one matching per scan; a retried or duplicated save wrote more
-- expect: matchings_of_another_user = 0
--   why: the app saves the matching with the scan's own userId (processKeyImageV6)
-- warn: scans_without_matching = 0
--   why: a NO_MATCH against a non-empty inventory passes the best key's id and
--   saveMatchingResult (app/lib/matching.server.js) refuses it (NO_MATCH should not have
--   matchedKeyId), so the scan is stored without a matching; a failed save ("Failed to save
--   matching result" in the log) leaves the same
SELECT
    (SELECT count(*) FROM key_queries) AS scans,
    (SELECT count(*) FROM key_matchings) AS matchings,
    (
        SELECT count(*) FROM key_queries q
        WHERE NOT EXISTS (SELECT 1 FROM key_matchings m WHERE m."keyQueryId" = q.id)
    ) AS scans_without_matching,
    (
        SELECT count(*) FROM (
            SELECT "keyQueryId" FROM key_matchings GROUP BY "keyQueryId" HAVING count(*) > 1
        ) d
    ) AS scans_with_several_matchings,
    (
        SELECT count(*) FROM key_matchings m
        JOIN key_queries q ON q.id = m."keyQueryId"
        WHERE m."userId" <> q."userId"
    ) AS matchings_of_another_user;
