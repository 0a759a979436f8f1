-- id: B
-- title: Keys of one user by sigStatus
-- description: One user's keys by "sigStatus" (pending, ready, failed) and in total, as the
--   app's stats page shows them. Fails when no user has that id (a mistyped userId).
-- param: userId text required  the user's id (cuid), e.g. the test account's
-- severity: low
-- tags: per-user
-- expect: user_found = 1
-- warn: other_status = 0
SELECT
    (SELECT count(*) FROM "User" WHERE id = :userId) AS user_found,
    count(*) FILTER (WHERE "sigStatus" = 'pending') AS pending,
    count(*) FILTER (WHERE "sigStatus" = 'ready') AS ready,
    count(*) FILTER (WHERE "sigStatus" = 'failed') AS failed,
    count(*) FILTER (WHERE "sigStatus" NOT IN ('pending', 'ready', 'failed')) AS other_status,
    count(*) AS total
FROM keys
WHERE "userId" = :userId;
