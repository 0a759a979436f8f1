-- id: F
-- title: The seven indexes exist
-- description: The non-primary-key indexes of keys, key_signatures, key_queries and
--   key_matchings exist and are valid, matched by table and columns (not by name). Each row
--   returned is a missing index. Re-run after every schema change.
-- severity: critical
-- tags: schema, before-promote, after-deploy
-- expect: rows = 0
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
        substring(pg_get_indexdef(i.indexrelid) FROM 'USING btree \((.*)\)$') AS index_columns
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND i.indisvalid AND i.indpred IS NULL
)
SELECT e.table_name, e.index_columns, e.usual_name
FROM expected e
WHERE NOT EXISTS (
    SELECT 1 FROM present p
    WHERE p.table_name = e.table_name AND p.index_columns = e.index_columns
)
ORDER BY e.table_name, e.index_columns;
