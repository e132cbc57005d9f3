"""SQL for ``dead_letters``: rejected input with its reasons, stored once per redelivery."""

from __future__ import annotations

#: Rows from arrays: $1 received_at, $2 topic, $3 payload, $4 reasons (text, comma separated
#: since asyncpg has no array-of-arrays), $5 device_id, $6 detail, $7 dedup_key.
INSERT_DEAD_LETTERS = """
INSERT INTO dead_letters (received_at, topic, payload, reasons, device_id, detail, dedup_key)
SELECT r.received_at, r.topic, r.payload, string_to_array(r.reasons, ','), r.device_id,
       r.detail, r.dedup_key
FROM unnest($1::timestamptz[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::jsonb[],
            $7::bytea[]) AS r(received_at, topic, payload, reasons, device_id, detail, dedup_key)
ORDER BY r.dedup_key
ON CONFLICT (dedup_key) DO NOTHING
"""

#: Dead letters of a topic, oldest first (tests, operators).
SELECT_BY_TOPIC = """
SELECT received_at, topic, payload, reasons, device_id, detail
FROM dead_letters WHERE topic = $1 ORDER BY id
"""
