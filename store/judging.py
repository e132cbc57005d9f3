"""SQL of the queue of stored fixes not yet judged (``unjudged_fixes``, migration 0061).

A fix is judged in the transaction that stores it; when it cannot be (its evaluation failed, or
its device already has fixes waiting, which are judged first), the same transaction queues it
here. The sweeper judges the queue device by device, in arrival order (``id``), under the same
per-device advisory locks as evaluation, and deletes what it judged in its transaction.
"""

from __future__ import annotations

#: Cheap test of the common case, an empty queue (one index probe).
ANY_QUEUED = "SELECT EXISTS (SELECT 1 FROM unjudged_fixes)"

#: Fixes waiting, for the gauge.
COUNT_QUEUED = "SELECT count(*) FROM unjudged_fixes"

#: Which of the devices $1 have fixes waiting.
QUEUED_DEVICES = """
SELECT DISTINCT device_id FROM unjudged_fixes WHERE device_id = ANY($1::text[])
"""

#: The staged fixes that this transaction inserted into ``pings`` (the others were already
#: stored, and judged or queued then): rows written by this transaction carry its id as xmin.
FRESH_FROM_STAGE = """
SELECT DISTINCT p.device_id, p.fix_time, p.seq
FROM pings_stage s
JOIN pings p ON p.device_id = s.device_id AND p.fix_time = s.fix_time AND p.seq = s.seq
WHERE p.xmin::text = (pg_current_xact_id()::xid)::text
"""

#: Queue fixes ($1 device, $2 fix time, $3 seq, in arrival order) with why ($4).
ENQUEUE = """
INSERT INTO unjudged_fixes (device_id, fix_time, seq, last_error)
SELECT u.d, u.t, u.s, $4
FROM unnest($1::text[], $2::timestamptz[], $3::bigint[]) WITH ORDINALITY AS u(d, t, s, i)
ORDER BY u.i
ON CONFLICT (device_id, fix_time, seq) DO NOTHING
"""

#: Up to $1 devices with fixes waiting whose advisory lock (as ``evaluation.LOCK_DEVICES``) this
#: transaction could take without waiting: a device being judged elsewhere is left for later.
CLAIM_DEVICES = """
SELECT q.device_id FROM (
    SELECT device_id, min(id) AS first FROM unjudged_fixes GROUP BY device_id
) q
WHERE pg_try_advisory_xact_lock(hashtext(q.device_id))
ORDER BY q.first
LIMIT $1
"""

#: The waiting fixes of devices $1 (at most $2, oldest arrival first) with their stored columns;
#: ``fix_time IS NULL`` for a queued fix no longer stored (dropped by retention).
SELECT_QUEUED = """
SELECT q.id, q.device_id, q.fix_time AS queued_time, q.seq AS queued_seq,
       p.fix_time, p.seq, p.received_at, p.lon, p.lat, p.acc::text::float8 AS acc, p.src,
       p.alt::text::float8 AS alt, p.spd::text::float8 AS spd, p.hdg::text::float8 AS hdg,
       p.batt, p.sat
FROM unjudged_fixes q
LEFT JOIN pings p ON p.device_id = q.device_id AND p.fix_time = q.fix_time AND p.seq = q.seq
WHERE q.device_id = ANY($1::text[])
ORDER BY q.id
LIMIT $2
"""

#: Judged (or gone): remove queue rows $1.
DELETE_QUEUED = "DELETE FROM unjudged_fixes WHERE id = ANY($1::bigint[])"

#: A failed attempt at queue rows $1 (error text $2).
MARK_ATTEMPT = """
UPDATE unjudged_fixes SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])
"""
