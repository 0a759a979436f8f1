-- id: C-ALL
-- title: matchType balance of every user, last 24 hours
-- description: C's numbers over all users instead of one, for the matchings written in the
--   24 hours before `until` (the report's time): how many there were and how many of each
--   type (MATCH_FOUND, POSSIBLE_KEYS, POSSIBLE_MATCH, NO_MATCH, any other value), and the
--   NO_MATCH share in percent. The scheduled report (`keycliq report ENV`) records it each
--   run, so its history is the balance day by day; a jump in no_match_percent right after
--   a release is what the report's chart shows.
-- param: until timestamp required  end of the window (UTC)
-- param: hours integer optional default=24  length of the window
-- severity: medium
-- tags: report, balance
-- returns: one-row
SELECT
    count(*) AS matchings,
    count(*) FILTER (WHERE "matchType" = 'MATCH_FOUND') AS match_found,
    count(*) FILTER (WHERE "matchType" = 'POSSIBLE_KEYS') AS possible_keys,
    count(*) FILTER (WHERE "matchType" = 'POSSIBLE_MATCH') AS possible_match,
    count(*) FILTER (WHERE "matchType" = 'NO_MATCH') AS no_match,
    count(*) FILTER (
        WHERE "matchType" NOT IN ('MATCH_FOUND', 'POSSIBLE_KEYS', 'NO_MATCH', 'POSSIBLE_MATCH')
    ) AS other_types,
    round(
        100.0 * count(*) FILTER (WHERE "matchType" = 'NO_MATCH') / greatest(count(*), 1), 2
    ) AS no_match_percent
FROM key_matchings
WHERE "createdAt" >= CAST(:until AS timestamp) - make_interval(hours => :hours)
  AND "createdAt" < CAST(:until AS timestamp);
