-- id: I
-- title: Password-reset tokens the cleanup should have deleted
-- description: The app runs cleanupExpiredTokens (app/utils/auth.server.js) each time a
--   password reset is requested: it deletes every expired or used token, then the user's
--   own, before writing the new token (valid one hour). So expired and used tokens are
--   legal until the next request, and the counts expired and used are information. A token
--   that had already expired when the newest token was created (stale) survived a cleanup
--   that should have deleted it: the cleanup did not run or failed. A warning at most: a
--   stale token cannot be used (the app only accepts unused, unexpired tokens).
-- severity: low
-- tags: housekeeping
-- warn: stale = 0
--   why: the cleanup that runs before each new reset token (createPasswordResetToken in
--   app/utils/auth.server.js) did not delete these
WITH p AS (
    SELECT
        now() AT TIME ZONE 'UTC' AS now_utc,
        (SELECT max("createdAt") FROM "PasswordResetToken") AS newest
)
SELECT
    count(t.id) AS tokens,
    count(t.id) FILTER (WHERE NOT t.used AND t."expiresAt" < p.now_utc) AS expired,
    count(t.id) FILTER (WHERE t.used) AS used,
    count(t.id) FILTER (WHERE t.used OR t."expiresAt" < p.now_utc) AS waiting_cleanup,
    count(t.id) FILTER (WHERE t."expiresAt" < p.newest) AS stale,
    max(p.newest) AS newest_token_at
FROM p
LEFT JOIN "PasswordResetToken" t ON true;
