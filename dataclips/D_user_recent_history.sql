-- id: D
-- title: Recent scan history of one user
-- description: The user's latest 50 scans (the limit applies to scans, before any join),
--   newest first, each with its matching (type, similarity, confidence) and the matched
--   key's id, name and description when there is one: what the app's history page shows.
--   Only the user's own matchings are joined (m."userId" = the user), so another user's
--   matching attached to one of these scans never shows. A scan without a matching (the
--   app stores none for a NO_MATCH against a non-empty inventory) shows an empty type; a
--   matching whose key was deleted shows an empty key.
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
