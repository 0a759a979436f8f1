-- id: F
-- title: The seven indexes exist
-- description: The non-primary-key indexes Prisma creates from the app's schema.prisma
--   (@@index, with sort: Desc where the schema says so) on keys, key_signatures,
--   key_queries and key_matchings exist, are valid and have their columns in the right
--   order and direction, matched by table and columns (not by name). Each row returned is
--   one expected index with its problem: missing; invalid (indisvalid is false, what a
--   failed CREATE INDEX CONCURRENTLY leaves: drop and re-create it); or built on the same
--   columns in another order or direction (found shows it). Re-run after every schema
--   change.
-- severity: critical
-- tags: schema, before-promote, after-deploy
-- expect: rows = 0
--   why: expected indexes missing, invalid or built in another column order or direction
--   (each row says which); queries of the app's history and inventory lose their index
WITH expected (table_name, index_columns, usual_name) AS (
    VALUES
        ('keys', '"userId", "sigStatus"', 'keys_userId_sigStatus_idx'),
        ('keys', '"createdAt"', 'keys_createdAt_idx'),
        ('key_signatures', '"keyId", "createdAt" DESC', 'key_signatures_keyId_createdAt_idx'),
        ('key_queries', '"userId", "createdAt" DESC', 'key_queries_userId_createdAt_idx'),
        ('key_queries', '"createdAt"', 'key_queries_createdAt_idx'),
        ('key_matchings', '"userId", "matchType"', 'key_matchings_userId_matchType_idx'),
        ('key_matchings', '"createdAt"', 'key_matchings_createdAt_idx')
),
present AS (
    SELECT
        c.relname AS table_name,
        ic.relname AS index_name,
        i.indisvalid AS valid,
        substring(pg_get_indexdef(i.indexrelid) FROM 'USING btree \((.*)\)$') AS index_columns
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND i.indpred IS NULL
),
judged AS (
    SELECT
        e.table_name,
        e.index_columns,
        e.usual_name,
        EXISTS (
            SELECT 1 FROM present p
            WHERE p.table_name = e.table_name AND p.index_columns = e.index_columns AND p.valid
        ) AS ok,
        (
            SELECT string_agg(p.index_name, ', ' ORDER BY p.index_name) FROM present p
            WHERE p.table_name = e.table_name AND p.index_columns = e.index_columns
              AND NOT p.valid
        ) AS invalid,
        (
            SELECT string_agg(format('%s (%s)', p.index_name, p.index_columns), ', '
                              ORDER BY p.index_name)
            FROM present p
            WHERE p.table_name = e.table_name AND p.valid
              AND p.index_columns <> e.index_columns
              AND (
                  SELECT array_agg(x ORDER BY x)
                  FROM unnest(string_to_array(replace(p.index_columns, ' DESC', ''), ', ')) x
              ) = (
                  SELECT array_agg(x ORDER BY x)
                  FROM unnest(string_to_array(replace(e.index_columns, ' DESC', ''), ', ')) x
              )
        ) AS reordered
    FROM expected e
)
SELECT
    table_name,
    index_columns,
    usual_name,
    CASE
        WHEN invalid IS NOT NULL THEN 'invalid'
        WHEN reordered IS NOT NULL THEN 'columns in another order or direction'
        ELSE 'missing'
    END AS problem,
    coalesce(invalid, reordered) AS found
FROM judged
WHERE NOT ok
ORDER BY table_name, index_columns;
