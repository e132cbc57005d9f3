"""SQL for ``dead_letters``: rejected input with its reasons, stored once per redelivery, and the
replay of the ones an assignment correction makes acceptable (``ingest.replay``)."""

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

#: Mark for replay the fixes of device $1 refused only as ``unassigned_device`` whose fix time
#: lies in [$2, $3) ($3 NULL: open), unless a replay stored them already. Returns their ids. A
#: row an ingester holds keeps its claim (no second ingester takes it meanwhile).
REQUEST_REPLAY = """
UPDATE dead_letters
SET replay_requested_at = now(), replayed_at = NULL, replay_result = NULL
WHERE device_id = $1 AND reasons = ARRAY['unassigned_device']::text[]
  AND detail ? 'fix_time'
  AND (detail->>'fix_time')::timestamptz >= $2
  AND (detail->>'fix_time')::timestamptz < coalesce($3::timestamptz, 'infinity')
  AND replay_result IS DISTINCT FROM 'stored'
RETURNING id
"""

#: Taken (transaction-scoped) before :data:`CLAIM_REPLAY`: claims are serialised, so the check
#: that no other ingester holds rows of a device sees every committed claim.
LOCK_CLAIMS = "SELECT pg_advisory_xact_lock(1652011632)"  # "bwrp"

#: Claim at most $1 rows waiting for replay for a lease of $2 seconds: of devices no other
#: ingester holds rows of (a device's fixes are replayed by one ingester at a time, in fix-time
#: order, so each replayed batch is a run of the device's track), rows locked now are skipped.
CLAIM_REPLAY = """
WITH busy AS (
    SELECT DISTINCT device_id FROM dead_letters
    WHERE replay_requested_at IS NOT NULL AND replayed_at IS NULL
      AND replay_claimed_until >= now()
), pick AS (
    SELECT id FROM dead_letters
    WHERE replay_requested_at IS NOT NULL AND replayed_at IS NULL
      AND (replay_claimed_until IS NULL OR replay_claimed_until < now())
      AND device_id IS NOT NULL AND device_id NOT IN (SELECT device_id FROM busy)
    ORDER BY device_id, (detail->>'fix_time')::timestamptz, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE dead_letters d
SET replay_claimed_until = now() + make_interval(secs => $2::float8),
    replay_attempts = d.replay_attempts + 1
FROM pick
WHERE d.id = pick.id
RETURNING d.id, d.received_at, d.topic, d.payload, d.device_id, d.dedup_key
"""

#: Give back claimed rows $1 (bigint[]) not replayed (an ingester stopping): others may take them
#: at once instead of after the lease.
RELEASE_CLAIMS = """
UPDATE dead_letters SET replay_claimed_until = NULL
WHERE id = ANY($1::bigint[]) AND replayed_at IS NULL
"""

#: The outcome of replayed rows, in the transaction of their batch: $1 ids, $2 results
#: ('stored' | 'rejected'), $3 new reasons (comma separated; '' keeps the old ones). A row
#: finished already (a lease that ran out under a stalled ingester) keeps its first outcome.
FINISH_REPLAY = """
UPDATE dead_letters d
SET replayed_at = now(), replay_result = r.result, replay_claimed_until = NULL,
    reasons = CASE WHEN r.reasons = '' THEN d.reasons ELSE string_to_array(r.reasons, ',') END
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS r(id, result, reasons)
WHERE d.id = r.id AND d.replayed_at IS NULL
"""

#: Replay state of device $1's dead letters (tests, operators).
SELECT_REPLAY_STATE = """
SELECT id, reasons, replay_requested_at, replayed_at, replay_result, replay_attempts
FROM dead_letters WHERE device_id = $1 ORDER BY id
"""
