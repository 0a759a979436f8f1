-- id: E1
-- title: key_signatures XOR (keyId or keyQueryId)
-- description: Every signature names a key ("keyId"), a scan ("keyQueryId") or both; none
--   names neither (both_null: a signature of nothing, which no write path of the app
--   produces). The team's invariant was exactly one of the two, but the app's own
--   new-key form links a key created after an unmatched scan to that scan, so both_set
--   rows are real data: counted and reported as a warning, never a failure. Part of the
--   critical integrity gate before promotion.
-- severity: critical
-- tags: integrity, before-promote, after-deploy
-- expect: both_null = 0
--   why: a signature with neither a key nor a scan; the app always writes "keyId"
--   (createKey in app/lib/keys.server.js), so another writer or a broken migration made it
-- warn: both_set = 0
--   why: a key created from an unmatched scan keeps that scan's id: the new-key form
--   (app/routes/keys.$id.jsx) links the user's latest NO_MATCH scan and createKey
--   (app/lib/keys.server.js) writes the signature with both "keyId" and "keyQueryId"
SELECT
    count(*) AS total,
    count(*) FILTER (WHERE "keyId" IS NULL AND "keyQueryId" IS NULL) AS both_null,
    count(*) FILTER (WHERE "keyId" IS NOT NULL AND "keyQueryId" IS NOT NULL) AS both_set,
    count(*) FILTER (WHERE "keyId" IS NOT NULL AND "keyQueryId" IS NULL) AS key_only,
    count(*) FILTER (WHERE "keyId" IS NULL AND "keyQueryId" IS NOT NULL) AS scan_only,
    count(*) FILTER (WHERE ("keyId" IS NULL) <> ("keyQueryId" IS NULL)) AS correct_xor
FROM key_signatures;
