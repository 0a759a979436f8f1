-- id: C
-- title: Scans and matchings of one user by type
-- description: One user's number of scans (key_queries), of matchings, and of matchings per
--   type (MATCH_FOUND, POSSIBLE_KEYS, NO_MATCH). Run after every production promotion with
--   the test account. Fails when no user has that id.
-- param: userId text required  the user's id (cuid)
-- severity: medium
-- tags: per-user, after-promote
-- expect: user_found = 1
SELECT
    (SELECT count(*) FROM "User" WHERE id = :userId) AS user_found,
    (SELECT count(*) FROM key_queries WHERE "userId" = :userId) AS scans,
    count(*) AS matchings,
    count(*) FILTER (WHERE "matchType" = 'MATCH_FOUND') AS match_found,
    count(*) FILTER (WHERE "matchType" = 'POSSIBLE_KEYS') AS possible_keys,
    count(*) FILTER (WHERE "matchType" = 'NO_MATCH') AS no_match
FROM key_matchings
WHERE "userId" = :userId;
