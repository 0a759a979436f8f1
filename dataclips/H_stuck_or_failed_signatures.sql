-- id: H
-- title: Keys stuck in pending or whose signature just failed
-- description: Keys still "pending" longer than pendingMinutes after they were created, and
--   keys whose signature "failed" within the last failedHours. Either points at the scan
--   pipeline (OpenAI analysis, Cloudinary). Older failures are history and not listed.
--   Timestamps are UTC, as Prisma stores them.
-- param: pendingMinutes integer optional default=30  minutes before a pending key is stuck
-- param: failedHours integer optional default=24  how far back a failure counts as recent
-- severity: high
-- tags: scanning, after-deploy, after-promote
-- warn: rows = 0
SELECT
    k.id AS key_id,
    k."userId" AS user_id,
    k."sigStatus" AS sig_status,
    CASE k."sigStatus" WHEN 'pending' THEN 'stuck in pending' ELSE 'signature failed' END
        AS problem,
    k."createdAt" AS created_at,
    k."updatedAt" AS updated_at
FROM keys k
WHERE (
        k."sigStatus" = 'pending'
        AND k."createdAt" < (now() AT TIME ZONE 'UTC') - make_interval(mins => :pendingMinutes)
    )
    OR (
        k."sigStatus" = 'failed'
        AND k."updatedAt" >= (now() AT TIME ZONE 'UTC') - make_interval(hours => :failedHours)
    )
ORDER BY k."updatedAt" DESC;
