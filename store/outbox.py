"""SQL of the outbox: claiming undelivered rows (several drains), dead-lettering a row that
cannot be delivered (migration 0067), the backlog, unit summaries, and reads for the live stream
(by id, and replay after an id within the caller's scope)."""

from __future__ import annotations

#: Up to $1 undelivered rows, oldest first, locked; rows another drain holds are skipped, and so
#: are dead-lettered ones.
CLAIM = """
SELECT o.id, o.unit_id, o.topic, o.payload, u.code AS unit_code
FROM outbox o LEFT JOIN units u ON u.id = o.unit_id
WHERE o.delivered_at IS NULL AND o.dead_lettered_at IS NULL
ORDER BY o.id LIMIT $1
FOR UPDATE OF o SKIP LOCKED
"""

#: $1 ids.
MARK_DELIVERED = "UPDATE outbox SET delivered_at = now() WHERE id = ANY($1::bigint[])"

#: Set rows $1 (bigint[]) aside with their reasons $2 (text[], same order).
DEAD_LETTER = """
UPDATE outbox o SET dead_lettered_at = now(), dead_letter_reason = d.reason
FROM unnest($1::bigint[], $2::text[]) AS d(id, reason)
WHERE o.id = d.id
"""

COUNT_BACKLOG = (
    "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_lettered_at IS NULL"
)

#: Open and acknowledged alerts of units $1 (retained summary per unit).
UNIT_SUMMARY = """
SELECT u.id, u.code,
       count(a.id) FILTER (WHERE a.status = 'open') AS open,
       count(a.id) FILTER (WHERE a.status = 'acknowledged') AS acknowledged,
       count(a.id) FILTER (WHERE a.status = 'open' AND a.escalation_level > 0) AS escalated
FROM units u LEFT JOIN alerts a ON a.unit_id = u.id AND a.status <> 'resolved'
WHERE u.id = ANY($1::bigint[])
GROUP BY u.id, u.code
"""

#: Rows $1 (ids announced by NOTIFY), in id order.
SELECT_BY_IDS = """
SELECT id, unit_id, topic, payload FROM outbox WHERE id = ANY($1::bigint[]) ORDER BY id
"""

#: Rows after id $1 that a caller sees ($2 role, $3 unit, $4 user id), at most $5, in id order:
#: police and supervisors their unit's, prosecutors their procuratorate's or their own cases',
#: administrators their unit's subtree's.
SELECT_VISIBLE_AFTER = """
SELECT id, unit_id, topic, payload FROM outbox
WHERE id > $1 AND (
    ($2::text IN ('police', 'supervisor') AND unit_id = $3::bigint)
    OR ($2::text = 'prosecutor' AND (
        (payload -> 'scope' ->> 'procuratorate_unit_id')::bigint = $3::bigint
        OR (payload -> 'scope' ->> 'prosecutor_user_id')::bigint = $4::bigint))
    OR ($2::text = 'admin' AND unit_id IN (SELECT bw_unit_subtree($3::bigint))))
ORDER BY id LIMIT $5
"""

#: Units an administrator of unit $1 oversees.
SELECT_SUBTREE = "SELECT bw_unit_subtree($1::bigint) AS id"

#: Every row after id $1 (a stream hub catching up after its LISTEN connection dropped).
SELECT_VISIBLE_AFTER_ALL = (
    "SELECT id, unit_id, topic, payload FROM outbox WHERE id > $1 ORDER BY id LIMIT 10000"
)
