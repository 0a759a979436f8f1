-- id: E3
-- title: Scores within [0, 1]
-- description: similarity and confidence of every matching, and the "confidenceScore" of
--   every signature (of a key or of a scan, matched or not), lie in [0, 1]. NaN counts as
--   out of range; a null "confidenceScore" is allowed. Each table is counted on its own,
--   so a bad score counts once however many signatures its key has. The app writes 1.0
--   for MATCH_FOUND and POSSIBLE_KEYS in normal mode, 0 for a stored NO_MATCH, random
--   values in [0.35, 0.98] in demo mode, and a signature's own confidence_score (0.95
--   when it has none).
-- severity: critical
-- tags: integrity, before-promote, after-deploy
-- expect: similarity_out_of_range = 0
--   why: matchings with a similarity outside [0, 1] or NaN; the app's scores never leave it
-- expect: confidence_out_of_range = 0
--   why: matchings with a confidence outside [0, 1] or NaN
-- expect: signature_confidence_out_of_range = 0
--   why: signatures whose "confidenceScore" is outside [0, 1] or NaN
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
    WHERE NOT ("confidenceScore" BETWEEN 0 AND 1)
) s;
