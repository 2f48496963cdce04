-- plugin-owned rows (bytea + jsonb); runs after the plugin table exists
\set ON_ERROR_STOP on
INSERT INTO barcodeplus_scanlog (part_id, data, payload, scanned)
SELECT p.a[1 + i % cardinality(p.a)],
       decode(md5(i::text || 'a') || md5(i::text || 'b') || md5(i::text || 'c') || md5(i::text || 'd')
              || md5(i::text || 'e') || md5(i::text || 'f') || md5(i::text || 'g') || md5(i::text || 'h')
              || '00ff7f80', 'hex'),
       jsonb_build_object('seed', :'tag', 'scanner', 'Zebra DS2208', 'text', 'Scan ü ' || i),
       now() - (i || ' seconds')::interval
FROM generate_series(1, :scans) i,
     (SELECT array_agg(id ORDER BY id) AS a FROM part_part WHERE metadata->>'seed' = :'tag') p;
