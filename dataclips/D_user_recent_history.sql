-- id: D
-- title: Recent scan history of one user
-- description: The user's latest 50 scans, newest first, each with its matching (type,
--   similarity, confidence) and the matched key's id, name and description when there is
--   one: what the app's history page shows.
-- param: userId text required  the user's id (cuid)
-- severity: low
-- tags: per-user
-- returns: rows
SELECT
    q.id AS scan_id,
    q."createdAt" AS scanned_at,
    m."matchType" AS match_type,
    m.similarity,
    m.confidence,
    k.id AS key_id,
    k.name AS key_name,
    k.description AS key_description
FROM (
    SELECT id, "createdAt"
    FROM key_queries
    WHERE "userId" = :userId
    ORDER BY "createdAt" DESC
    LIMIT 50
) q
LEFT JOIN key_matchings m ON m."keyQueryId" = q.id AND m."userId" = :userId
LEFT JOIN keys k ON k.id = m."matchedKeyId"
ORDER BY q."createdAt" DESC, m."createdAt";
