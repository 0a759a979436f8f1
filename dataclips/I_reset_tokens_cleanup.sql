-- id: I
-- title: Password-reset tokens waiting for cleanup
-- description: Expired or used "PasswordResetToken" rows are garbage that the app's
--   cleanupExpiredTokens deletes, and nothing schedules it yet. Counts them, and warns when
--   some have waited longer than graceHours (expired that long ago, or used and created
--   that long ago): the cleanup is not running.
-- param: graceHours integer optional default=24  hours a dead token may wait
-- severity: low
-- tags: housekeeping
-- warn: stale = 0
SELECT
    count(*) FILTER (WHERE NOT used AND "expiresAt" < p.now_utc) AS expired,
    count(*) FILTER (WHERE used) AS used,
    count(*) FILTER (WHERE used OR "expiresAt" < p.now_utc) AS waiting_cleanup,
    count(*) FILTER (
        WHERE (used AND "createdAt" < p.now_utc - p.grace)
           OR (NOT used AND "expiresAt" < p.now_utc - p.grace)
    ) AS stale
FROM "PasswordResetToken",
    (
        SELECT now() AT TIME ZONE 'UTC' AS now_utc, make_interval(hours => :graceHours) AS grace
    ) p;
