-- id: J
-- title: A deleted key left nothing behind
-- description: After a key is deleted in the app (deleteKey in app/lib/keys.server.js), the
--   database shows it: no keys row with that id, no key_signatures row with that "keyId"
--   (ON DELETE CASCADE), and no key_matchings row still naming it in "matchedKeyId" (ON
--   DELETE SET NULL: its matchings stay, without a key). Verified from the database, not
--   from a log line the app may stop writing. candidate_mentions counts demo-mode
--   matchings whose "comparisonResult" candidates still mention the id (a harmless trace
--   in JSON, not a reference). A mistyped keyId passes too: take the id from the key's
--   page or from check D before deleting.
-- param: keyId text required  the deleted key's id (cuid)
-- severity: high
-- tags: key-deletion, per-key
-- expect: key_rows = 0
--   why: the key is still there: the deletion did not reach the database
-- expect: signatures_left = 0
--   why: its signatures should go with it (ON DELETE CASCADE on key_signatures."keyId")
-- expect: matchings_naming_it = 0
--   why: its matchings should lose the key (ON DELETE SET NULL on
--   key_matchings."matchedKeyId"); the schema's foreign key is missing or different
SELECT
    (SELECT count(*) FROM keys WHERE id = :keyId) AS key_rows,
    (SELECT count(*) FROM key_signatures WHERE "keyId" = :keyId) AS signatures_left,
    (SELECT count(*) FROM key_matchings WHERE "matchedKeyId" = :keyId) AS matchings_naming_it,
    (
        SELECT count(*) FROM key_matchings
        WHERE "comparisonResult" -> 'candidates' @> jsonb_build_array(
            jsonb_build_object('keyId', :keyId::text)
        )
    ) AS candidate_mentions;
