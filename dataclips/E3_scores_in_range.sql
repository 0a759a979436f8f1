-- id: E3
-- title: Scores within [0, 1]
-- description: similarity and confidence of every matching, and the "confidenceScore" of
--   every key's signature, lie in [0, 1] (NaN counts as out of range; a null
--   "confidenceScore" is allowed).
-- severity: critical
-- tags: integrity, before-promote, after-deploy
-- expect: similarity_out_of_range = 0
-- expect: confidence_out_of_range = 0
-- expect: signature_confidence_out_of_range = 0
SELECT
    m.similarity_out_of_range,
    m.confidence_out_of_range,
    s.signature_confidence_out_of_range
FROM (
    SELECT
        count(*) FILTER (WHERE NOT (similarity BETWEEN 0 AND 1)) AS similarity_out_of_range,
        count(*) FILTER (WHERE NOT (confidence BETWEEN 0 AND 1)) AS confidence_out_of_range
    FROM key_matchings
) m,
(
    SELECT count(*) AS signature_confidence_out_of_range
    FROM key_signatures
    WHERE "keyId" IS NOT NULL AND NOT ("confidenceScore" BETWEEN 0 AND 1)
) s;
