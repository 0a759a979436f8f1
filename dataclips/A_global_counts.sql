-- id: A
-- title: Global counts
-- description: Row counts of "User", keys, key_signatures, key_queries and key_matchings.
--   Run after every production promotion and before promoting; `keycliq dataclips trend A`
--   shows how the numbers moved.
-- severity: low
-- tags: counts, after-deploy, after-promote
-- returns: one-row
SELECT
    (SELECT count(*) FROM "User") AS users,
    (SELECT count(*) FROM keys) AS keys,
    (SELECT count(*) FROM key_signatures) AS key_signatures,
    (SELECT count(*) FROM key_queries) AS key_queries,
    (SELECT count(*) FROM key_matchings) AS key_matchings;
