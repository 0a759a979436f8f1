-- id: C
-- title: Scans and matchings of one user by type
-- description: One user's number of scans (key_queries), of matchings, of scans without a
--   matching (the app stores no matching for a NO_MATCH against a non-empty inventory), and
--   of matchings per type: MATCH_FOUND, POSSIBLE_KEYS, NO_MATCH, POSSIBLE_MATCH (demo
--   mode) and any other value (other_types). The types add up to the matchings, so
--   match_found + no_match equals the matchings only when the user has no possible ones.
--   Run after every production promotion with the test account. Fails when no user has
--   that id; warns on a type the app never writes.
-- param: userId text required  the user's id (cuid)
-- severity: medium
-- tags: per-user, after-promote
-- expect: user_found = 1
-- warn: other_types = 0
--   why: a matchType no code path of the app writes (check G names it)
SELECT
    (SELECT count(*) FROM "User" WHERE id = :userId) AS user_found,
    (SELECT count(*) FROM key_queries WHERE "userId" = :userId) AS scans,
    count(*) AS matchings,
    (
        SELECT count(*) FROM key_queries q
        WHERE q."userId" = :userId
          AND NOT EXISTS (SELECT 1 FROM key_matchings m2 WHERE m2."keyQueryId" = q.id)
    ) AS scans_without_matching,
    count(*) FILTER (WHERE "matchType" = 'MATCH_FOUND') AS match_found,
    count(*) FILTER (WHERE "matchType" = 'POSSIBLE_KEYS') AS possible_keys,
    count(*) FILTER (WHERE "matchType" = 'NO_MATCH') AS no_match,
    count(*) FILTER (WHERE "matchType" = 'POSSIBLE_MATCH') AS possible_match,
    count(*) FILTER (
        WHERE "matchType" NOT IN ('MATCH_FOUND', 'POSSIBLE_KEYS', 'NO_MATCH', 'POSSIBLE_MATCH')
    ) AS other_types
FROM key_matchings
WHERE "userId" = :userId;
