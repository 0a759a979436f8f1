-- id: E1
-- title: key_signatures XOR (keyId or keyQueryId)
-- description: Every signature belongs to exactly one of a key ("keyId") or a scan
--   ("keyQueryId"): none with both references null, none with both set, so the XOR-correct
--   rows equal the total. Part of the critical integrity gate before promotion.
-- severity: critical
-- tags: integrity, before-promote, after-deploy
-- expect: both_null = 0
-- expect: both_set = 0
-- expect: correct_xor = total
SELECT
    count(*) AS total,
    count(*) FILTER (WHERE "keyId" IS NULL AND "keyQueryId" IS NULL) AS both_null,
    count(*) FILTER (WHERE "keyId" IS NOT NULL AND "keyQueryId" IS NOT NULL) AS both_set,
    count(*) FILTER (WHERE ("keyId" IS NULL) <> ("keyQueryId" IS NULL)) AS correct_xor
FROM key_signatures;
