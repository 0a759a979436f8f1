-- id: COSTS
-- title: OpenAI calls per day: scans and inventory signatures
-- description: For each of the `days` days (24-hour windows) before `until`, the scans
--   (key_queries rows: processKeyImageV6 calls GPT-4o once per scan) and the inventory
--   signatures (key_signatures rows with a "keyId": extractSignatureV6 calls it once per
--   key photo). Day 0 is the last 24 hours. `keycliq costs` multiplies them by the token
--   estimate and prices of keycliq.yaml (costs.openai).
-- param: until timestamp required  end of the last day (UTC)
-- param: days integer optional default=30  how many days
-- severity: low
-- tags: report, costs
-- returns: rows
SELECT
    d.day,
    CAST(:until AS timestamp) - make_interval(days => d.day + 1) AS day_start,
    (
        SELECT count(*) FROM key_queries q
        WHERE q."createdAt" >= CAST(:until AS timestamp) - make_interval(days => d.day + 1)
          AND q."createdAt" < CAST(:until AS timestamp) - make_interval(days => d.day)
    ) AS scans,
    (
        SELECT count(*) FROM key_signatures s
        WHERE s."keyId" IS NOT NULL
          AND s."createdAt" >= CAST(:until AS timestamp) - make_interval(days => d.day + 1)
          AND s."createdAt" < CAST(:until AS timestamp) - make_interval(days => d.day)
    ) AS inventory_signatures
FROM generate_series(0, :days - 1) AS d(day)
ORDER BY d.day DESC;
