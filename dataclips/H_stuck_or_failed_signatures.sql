-- id: H
-- title: Keys with a photo stuck in pending, or whose signature just failed
-- description: The app extracts a key's signature while it creates the key (createKey in
--   app/lib/keys.server.js), so a key created with a photo is written ready or failed,
--   never left pending. A key with a photo ("imageUrl" set) still pending more than
--   pendingMinutes after it was created, and never edited since, points at a broken scan
--   pipeline or another writer: the check fails on it. Keys without a photo stay pending
--   forever by design and are never listed. Listed as warnings: a photo added later by
--   editing a key (updateKey uploads it without extracting a signature, so the key stays
--   pending and can never match), and keys whose signature failed within the last
--   failedHours (OpenAI analysis failed; in demo mode, without OPENAI_API_KEY, every key
--   created with a photo ends failed). Timestamps are UTC, as Prisma stores them.
-- param: pendingMinutes integer optional default=30  minutes before a pending key is stuck
-- param: failedHours integer optional default=24  how far back a failure counts as recent
-- severity: high
-- tags: scanning, after-deploy, after-promote
-- expect: every problem <> 'stuck in pending'
--   why: createKey writes a key with a photo as ready or failed in one go
-- warn: rows = 0
--   why: a photo added by editing a key is never signed (updateKey,
--   app/lib/keys.server.js); a recent failure is OpenAI's analysis failing, or demo mode
--   (no OPENAI_API_KEY) where every key created with a photo ends failed
SELECT
    k.id AS key_id,
    k."userId" AS user_id,
    k."sigStatus" AS sig_status,
    CASE
        WHEN k."sigStatus" = 'failed' THEN 'signature failed'
        WHEN k."updatedAt" > k."createdAt" + interval '5 seconds'
            THEN 'photo added by an edit, never signed'
        ELSE 'stuck in pending'
    END AS problem,
    k."createdAt" AS created_at,
    k."updatedAt" AS updated_at
FROM keys k
WHERE (
        k."sigStatus" = 'pending'
        AND k."imageUrl" IS NOT NULL
        AND k."createdAt" < (now() AT TIME ZONE 'UTC') - make_interval(mins => :pendingMinutes)
    )
    OR (
        k."sigStatus" = 'failed'
        AND k."updatedAt" >= (now() AT TIME ZONE 'UTC') - make_interval(hours => :failedHours)
    )
ORDER BY k."updatedAt" DESC;
