-- id: KEYS-UNSIGNED
-- title: Keys without a signature, by age
-- description: Keys that have no key_signatures row, counted by how long ago they were
--   created (before `until`): under an hour, up to a day, up to a week, older; apart for
--   pending and failed keys. stuck counts the keys with a photo still pending more than
--   pendingMinutes after creation and never edited since (H's rule: createKey writes a key
--   with a photo ready or failed in one go). Keys without a photo are pending by design and
--   are counted in no_photo.
-- param: until timestamp required  the report's time (UTC)
-- param: pendingMinutes integer optional default=30  minutes before a pending key is stuck
-- severity: medium
-- tags: report, scanning
-- returns: one-row
WITH k AS (
    SELECT
        k."sigStatus" AS st,
        k."imageUrl" IS NOT NULL AS photo,
        CAST(:until AS timestamp) - k."createdAt" AS age,
        k."updatedAt" > k."createdAt" + interval '5 seconds' AS edited
    FROM keys k
    WHERE NOT EXISTS (SELECT 1 FROM key_signatures s WHERE s."keyId" = k.id)
      AND k."createdAt" < CAST(:until AS timestamp)
)
SELECT
    count(*) AS unsigned,
    count(*) FILTER (WHERE NOT photo) AS no_photo,
    count(*) FILTER (WHERE photo AND st = 'pending' AND age < interval '1 hour') AS pending_under_1h,
    count(*) FILTER (
        WHERE photo AND st = 'pending' AND age >= interval '1 hour' AND age < interval '1 day'
    ) AS pending_1h_1d,
    count(*) FILTER (
        WHERE photo AND st = 'pending' AND age >= interval '1 day' AND age < interval '7 days'
    ) AS pending_1d_7d,
    count(*) FILTER (WHERE photo AND st = 'pending' AND age >= interval '7 days') AS pending_over_7d,
    count(*) FILTER (WHERE st = 'failed' AND age < interval '1 hour') AS failed_under_1h,
    count(*) FILTER (
        WHERE st = 'failed' AND age >= interval '1 hour' AND age < interval '1 day'
    ) AS failed_1h_1d,
    count(*) FILTER (
        WHERE st = 'failed' AND age >= interval '1 day' AND age < interval '7 days'
    ) AS failed_1d_7d,
    count(*) FILTER (WHERE st = 'failed' AND age >= interval '7 days') AS failed_over_7d,
    count(*) FILTER (
        WHERE photo AND st = 'pending' AND NOT edited
          AND age > make_interval(mins => :pendingMinutes)
    ) AS stuck
FROM k;
