-- id: G
-- title: No matchType outside the ones the app writes
-- description: The app writes MATCH_FOUND, POSSIBLE_KEYS and NO_MATCH, and in demo mode
--   (no OPENAI_API_KEY) POSSIBLE_MATCH, the legacy single-candidate type that
--   app/routes/scan_.possible.jsx still reads. Any other value is a defect: unknown_types
--   lists each with how many matchings carry it. POSSIBLE_MATCH is counted and reported as
--   a warning (its rows are outside the team's three types, not broken).
-- severity: high
-- tags: integrity, before-promote, after-deploy
-- expect: unknown_matchings = 0
--   why: matchings whose matchType no code path of the app writes (unknown_types names
--   them)
-- warn: possible_match = 0
--   why: written by the demo path of processKeyImageV6 (app/lib/keyscan.server.js,
--   simulateDemoScanResult in app/utils/demoMode.server.js) when OPENAI_API_KEY is unset
SELECT
    count(*) AS matchings,
    count(*) FILTER (WHERE "matchType" = 'POSSIBLE_MATCH') AS possible_match,
    count(*) FILTER (
        WHERE "matchType" NOT IN ('MATCH_FOUND', 'POSSIBLE_KEYS', 'NO_MATCH', 'POSSIBLE_MATCH')
    ) AS unknown_matchings,
    (
        SELECT string_agg(format('%s (%s)', t, n), ', ' ORDER BY n DESC, t)
        FROM (
            SELECT "matchType" AS t, count(*) AS n
            FROM key_matchings
            WHERE "matchType" NOT IN ('MATCH_FOUND', 'POSSIBLE_KEYS', 'NO_MATCH', 'POSSIBLE_MATCH')
            GROUP BY "matchType"
        ) u
    ) AS unknown_types
FROM key_matchings;
