-- InvenTree-like data for the stand-in schema. psql variables: parts, stock, scans (row counts), tag (run tag).
\set ON_ERROR_STOP on
BEGIN;
-- users and groups (fixed rows are idempotent; non-ASCII names on purpose)
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined, last_login)
VALUES ('pbkdf2_sha256$260000$seedsalt$3tJc0uAqJ1yVQm9Q5o2O7b6t0d4mYq0Cj6A2zJ0J1dI=', true, 'admin', 'Ada', 'Admin', 'admin@example.com', true, true, now() - interval '400 days', now()),
       ('!', false, 'josé.müller', 'José', 'Müller', 'jose@example.com', true, true, now() - interval '300 days', now() - interval '2 days'),
       ('!', false, 'zoë', 'Zoë', 'Ångström', 'zoe@example.com', false, true, now() - interval '200 days', NULL),
       ('!', false, 'li.lei', '李', '雷', 'lilei@example.cn', false, true, now() - interval '100 days', now() - interval '1 hour'),
       ('!', false, 'olga', 'Ольга', 'Петрова', 'olga@example.ru', false, false, now() - interval '50 days', NULL)
ON CONFLICT (username) DO NOTHING;
INSERT INTO auth_group (name) VALUES ('engineering'), ('Lager / Stock'), ('purchasing') ON CONFLICT (name) DO NOTHING;
INSERT INTO auth_user_groups (user_id, group_id)
SELECT u.id, g.id FROM auth_user u, auth_group g
WHERE (u.username, g.name) IN (('josé.müller','engineering'), ('zoë','Lager / Stock'), ('li.lei','purchasing'), ('li.lei','engineering'))
ON CONFLICT DO NOTHING;
INSERT INTO auth_group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM auth_group g, auth_permission p
WHERE g.name = 'engineering' AND p.codename IN ('add_part','change_part','view_part','view_stockitem')
ON CONFLICT DO NOTHING;
INSERT INTO users_apitoken (created, key, name, expiry, revoked, user_id)
SELECT now(), 'inv-' || md5(u.username || :'tag'), 'token for ' || u.username, current_date + 365, false, u.id
FROM auth_user u ON CONFLICT (key) DO NOTHING;
INSERT INTO django_session (session_key, session_data, expire_date)
SELECT substr(md5(:'tag' || i), 1, 32), 'e30:1seed:' || md5(i::text), now() + interval '14 days' FROM generate_series(1, 5) i
ON CONFLICT DO NOTHING;
-- global settings: inserted in random order, so two seeded databases give the same key different ids
INSERT INTO common_inventreesetting (key, value)
SELECT key, value FROM (VALUES
  ('INVENTREE_INSTANCE', 'Werkstatt Süd – Lager'), ('INVENTREE_INSTANCE_TITLE', 'True'), ('INVENTREE_COMPANY_NAME', 'Müller & Søn GmbH'),
  ('INVENTREE_BASE_URL', 'http://inventree.localhost'), ('INVENTREE_DEFAULT_CURRENCY', 'EUR'), ('INVENTREE_DOWNLOAD_FROM_URL', 'False'),
  ('INVENTREE_UPDATE_CHECK_INTERVAL', '7'), ('INVENTREE_BACKUP_ENABLE', 'False'), ('INVENTREE_DELETE_TASKS_DAYS', '30'),
  ('BARCODE_ENABLE', 'True'), ('BARCODE_INPUT_DELAY', '50'), ('PART_IPN_REGEX', ''), ('PART_ALLOW_DUPLICATE_IPN', 'True'),
  ('PART_ALLOW_EDIT_IPN', 'True'), ('PART_NAME_FORMAT', '{{ part.name }}{% if part.revision %} | {{ part.revision }}{% endif %}'),
  ('PART_SHOW_RELATED', 'True'), ('PART_CREATE_INITIAL', 'False'), ('PART_TEMPLATE', 'False'), ('PART_ASSEMBLY', 'False'),
  ('PART_COMPONENT', 'True'), ('PART_TRACKABLE', 'False'), ('PART_PURCHASEABLE', 'True'), ('STOCK_BATCH_CODE_TEMPLATE', ''),
  ('STOCK_ENABLE_EXPIRY', 'False'), ('STOCK_STALE_DAYS', '0'), ('STOCK_ALLOW_EXPIRED_SALE', 'True'), ('STOCK_OWNERSHIP_CONTROL', 'False'),
  ('REPORT_DEFAULT_PAGE_SIZE', 'A4'), ('LABEL_ENABLE', 'True'), ('SERIAL_NUMBER_GLOBALLY_UNIQUE', 'False'),
  ('_PLUGIN_REGISTRY_HASH', md5(:'tag')), ('_INTERNAL_SERVER_RESTART_REQUIRED', 'False')) AS s(key, value)
ORDER BY random()
ON CONFLICT (key) DO NOTHING;
INSERT INTO common_inventreeusersetting (key, value, user_id)
SELECT k, v, u.id FROM auth_user u, (VALUES ('DATE_DISPLAY_FORMAT', 'YYYY-MM-DD'), ('DISPLAY_SCHEDULE_TAB', 'True'), ('LABEL_INLINE', 'True')) s(k, v)
ON CONFLICT DO NOTHING;
-- plugin settings (PluginConfig row is created/activated before this script)
INSERT INTO plugin_pluginsetting (key, value, plugin_id)
SELECT k, v, p.id FROM plugin_pluginconfig p, (VALUES ('SCAN_PREFIX', '§BP§'), ('MAX_LOG_DAYS', '90')) s(k, v)
WHERE p.key = 'barcodeplus' ON CONFLICT DO NOTHING;
-- categories and locations (a small tree)
INSERT INTO part_partcategory (name, description, parent_id, pathstring, metadata)
SELECT c.name || ' ' || :'tag', c.descr, NULL, c.name || ' ' || :'tag', jsonb_build_object('seed', :'tag', 'icon', c.icon)
FROM (VALUES ('Elektronik', 'Bauteile für Schaltungen – Widerstände, Kondensatoren', 'ti:cpu'),
             ('Mechanik', 'Schrauben, Muttern & Unterlegscheiben', 'ti:tool'),
             ('電子部品', '日本のサプライヤーからの部品', 'ti:box'),
             ('Résistances', 'Résistances à couche métallique ±1 %', 'ti:bolt')) c(name, descr, icon);
INSERT INTO stock_stocklocation (name, description, parent_id)
SELECT 'Regal ' || chr(64 + i) || ' ' || :'tag', 'Lagerort Nr. ' || i || ' – Halle Ω', NULL FROM generate_series(1, 6) i;
-- parts
CREATE TEMP TABLE seed_cat AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM part_partcategory WHERE metadata->>'seed' = :'tag';
CREATE TEMP TABLE seed_loc AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM stock_stocklocation WHERE name LIKE '% ' || :'tag';
INSERT INTO part_part (name, description, "IPN", category_id, image, active, metadata, notes, creation_date)
SELECT (ARRAY['Widerstand 10kΩ', 'Kondensator 100µF', 'Schraube M3×8', '抵抗器 4.7kΩ', 'Résistance 1MΩ', 'LED 🔴 5mm', 'Größenadapter Ä/Ö'])[1 + i % 7] || ' #' || i,
       'Beschreibung für Teil ' || i || ' – ' || md5(i::text || 'd') || md5(i::text || 'e'),
       CASE WHEN i % 13 = 0 THEN NULL ELSE 'IPN-' || :'tag' || '-' || lpad(i::text, 6, '0') END,
       c.a[1 + i % cardinality(c.a)],
       CASE WHEN i % 10 = 0 THEN 'part_images/part_' || :'tag' || '_' || i || '.png' ELSE NULL END,
       i % 17 <> 0,
       jsonb_build_object('seed', :'tag', 'n', i, 'supplier', jsonb_build_object('name', 'Lieferant ' || (i % 9), 'sku', 'SKU-' || md5(i::text)),
                          'tags', jsonb_build_array('a', 'ü', '日本')),
       'Notizen: ' || md5(i::text || 'n1') || md5(i::text || 'n2') || md5(i::text || 'n3') || md5(i::text || 'n4')
         || md5(i::text || 'n5') || md5(i::text || 'n6') || md5(i::text || 'n7') || md5(i::text || 'n8') || ' – Ende',
       current_date - (i % 900)
FROM generate_series(1, :parts) i, (SELECT array_agg(id ORDER BY id) AS a FROM seed_cat) c;
INSERT INTO part_part (name, description, "IPN", category_id, image, active, metadata, notes, creation_date)
VALUES ('Größe Ä – Sonderteil ' || :'tag', 'Teil mit Umlaut-Bild', 'IPN-' || :'tag' || '-UMLAUT', (SELECT id FROM seed_cat WHERE n = 0),
        'part_images/Größe_Ä_' || :'tag' || '.png', true, '{"special": true}', NULL, current_date);
CREATE TEMP TABLE seed_part AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM part_part WHERE metadata->>'seed' = :'tag';
-- stock items
INSERT INTO stock_stockitem (part_id, location_id, quantity, serial, batch, notes, updated, metadata)
SELECT p.a[1 + i % cardinality(p.a)],
       l.a[1 + i % cardinality(l.a)],
       round((random() * 1000)::numeric, 5),
       CASE WHEN i % 5 = 0 THEN 'SN-' || :'tag' || '-' || i ELSE NULL END,
       'B' || (i % 97),
       'Eingang ' || md5(i::text || 's1') || md5(i::text || 's2') || md5(i::text || 's3') || ' geprüft ✓',
       now() - (i || ' minutes')::interval,
       jsonb_build_object('seed', :'tag', 'checked', i % 2 = 0, 'temps', jsonb_build_array(20.5, 21.25, -3))
FROM generate_series(1, :stock) i, (SELECT array_agg(id ORDER BY id) AS a FROM seed_part) p,
     (SELECT array_agg(id ORDER BY id) AS a FROM seed_loc) l;
