"""SQL of per-unit webhooks and their deliveries (pending -> delivered | failed)."""

from __future__ import annotations

#: $1 unit code, $2 url, $3 secret; returns the id (NULL: no such unit).
INSERT_WEBHOOK = """
INSERT INTO webhooks (unit_id, url, secret)
SELECT id, $2, $3 FROM units WHERE code = $1
RETURNING id
"""

#: One delivery per active webhook of each outbox row's unit ($1 outbox ids).
ENQUEUE = """
INSERT INTO webhook_deliveries (webhook_id, outbox_id)
SELECT w.id, o.id FROM outbox o JOIN webhooks w ON w.unit_id = o.unit_id AND w.active
WHERE o.id = ANY($1::bigint[])
ORDER BY o.id, w.id
ON CONFLICT (webhook_id, outbox_id) DO NOTHING
"""

#: Up to $1 due deliveries, leased for $2 seconds (another process will not take them meanwhile),
#: each attempt counted; with what to send.
CLAIM_DUE = """
UPDATE webhook_deliveries d
SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
FROM webhooks w, outbox o
WHERE d.id IN (SELECT id FROM webhook_deliveries
               WHERE status = 'pending' AND next_attempt_at <= now()
               ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
  AND w.id = d.webhook_id AND o.id = d.outbox_id
RETURNING d.id, d.outbox_id, d.attempts, d.created_at, w.url, w.secret, o.topic, o.payload
"""

#: $1 delivery.
MARK_DELIVERED = """
UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_error = NULL
WHERE id = $1
"""

#: $1 delivery, $2 error, $3 seconds to the next attempt, $4 horizon (s): failed when the
#: delivery is older than the horizon, else pending again.
MARK_FAILED_ATTEMPT = """
UPDATE webhook_deliveries
SET last_error = $2, next_attempt_at = now() + make_interval(secs => $3),
    status = CASE WHEN created_at <= now() - make_interval(secs => $4) THEN 'failed'
                  ELSE 'pending' END
WHERE id = $1
RETURNING status
"""

#: Earliest pending attempt (to sleep until it), NULL when none.
NEXT_DUE = "SELECT min(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'"
