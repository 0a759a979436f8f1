-- id: B
-- title: Keys of one user by sigStatus
-- description: One user's keys by "sigStatus" (pending, ready, failed) and in total, as the
--   app's stats page shows them. A key created without a photo stays pending forever (only
--   keys with a photo get a signature); in demo mode (no OPENAI_API_KEY) every key created
--   with a photo is failed. Fails when no user has that id (a mistyped userId); warns on a
--   status the app never writes.
-- param: userId text required  the user's id (cuid), e.g. the test account's
-- severity: low
-- tags: per-user
-- expect: user_found = 1
-- warn: other_status = 0
--   why: createKey and updateKeySignature (app/lib/keys.server.js) write only pending,
--   ready or failed
SELECT
    (SELECT count(*) FROM "User" WHERE id = :userId) AS user_found,
    count(*) FILTER (WHERE "sigStatus" = 'pending') AS pending,
    count(*) FILTER (WHERE "sigStatus" = 'ready') AS ready,
    count(*) FILTER (WHERE "sigStatus" = 'failed') AS failed,
    count(*) FILTER (WHERE "sigStatus" NOT IN ('pending', 'ready', 'failed')) AS other_status,
    count(*) AS total
FROM keys
WHERE "userId" = :userId;
