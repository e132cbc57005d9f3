"""SQL of the retention purge: position data of released cases past the retention period."""

from __future__ import annotations

#: Released cases, not on legal hold, not purged, released before now - $1 days.
SELECT_DUE = """
SELECT id, released_at FROM cases
WHERE status = 'released' AND NOT legal_hold AND purged_at IS NULL
  AND released_at < now() - make_interval(days => $1)
ORDER BY id
FOR UPDATE SKIP LOCKED
"""

#: $1 case.
MARK_PURGED = "UPDATE cases SET purged_at = now() WHERE id = $1"

#: $1 case, $2 released at, $3 retention days, $4 pings deleted.
INSERT_PURGE = """
INSERT INTO purge_log (case_id, released_at, retention_days, pings_deleted)
VALUES ($1, $2, $3, $4)
"""
