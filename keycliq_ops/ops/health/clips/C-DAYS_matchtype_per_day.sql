-- id: C-DAYS
-- title: matchType balance per day
-- description: For each of the `days` days (24-hour windows) before `until`, the matchings
--   written and how many of each type. Day 0 is the last 24 hours. The report draws it as
--   one stacked bar per day.
-- param: until timestamp required  end of the last day (UTC)
-- param: days integer optional default=14  how many days
-- severity: low
-- tags: report, balance
-- returns: rows
SELECT
    d.day,
    CAST(:until AS timestamp) - make_interval(days => d.day + 1) AS day_start,
    count(m.id) AS matchings,
    count(m.id) FILTER (WHERE m."matchType" = 'MATCH_FOUND') AS match_found,
    count(m.id) FILTER (WHERE m."matchType" = 'POSSIBLE_KEYS') AS possible_keys,
    count(m.id) FILTER (WHERE m."matchType" = 'POSSIBLE_MATCH') AS possible_match,
    count(m.id) FILTER (WHERE m."matchType" = 'NO_MATCH') AS no_match,
    count(m.id) FILTER (
        WHERE m."matchType" NOT IN ('MATCH_FOUND', 'POSSIBLE_KEYS', 'NO_MATCH', 'POSSIBLE_MATCH')
    ) AS other_types
FROM generate_series(0, :days - 1) AS d(day)
LEFT JOIN key_matchings m
    ON m."createdAt" >= CAST(:until AS timestamp) - make_interval(days => d.day + 1)
   AND m."createdAt" < CAST(:until AS timestamp) - make_interval(days => d.day)
GROUP BY d.day
ORDER BY d.day DESC;
