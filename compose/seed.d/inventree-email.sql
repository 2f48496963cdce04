-- email log rows (1.0+ schema only)
\set ON_ERROR_STOP on
INSERT INTO common_emailthread (global_id, key, started_internal, created, updated)
SELECT md5(:'tag' || 't' || i)::uuid, 'thread-' || i, i % 2 = 0, now(), now() FROM generate_series(1, 5) i;
INSERT INTO common_emailmessage (global_id, message_id_key, thread_id, subject, body, "to", sender, status, timestamp, headers, direction, priority)
SELECT md5(:'tag' || 'm' || i)::uuid, '<' || md5(i::text) || '@example.com>', md5(:'tag' || 't' || (1 + i % 5))::uuid,
       'Bestellung Nr. ' || i || ' – Bestätigung', 'Grüße aus München! Zeile ' || i, 'zoe@example.com', 'noreply@example.com',
       'S', now() - (i || ' hours')::interval, jsonb_build_object('X-Mailer', 'InvenTree', 'Lang', 'de-DE'), 'O', 3
FROM generate_series(1, 20) i;
