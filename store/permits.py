"""SQL for ``leave_permits``: requested by an officer for the defendant, decided by the
supervisor of the supervising unit or a prosecutor of the case, and possibly cancelled."""

from __future__ import annotations

from store.cases import visible

PERMIT_COLUMNS = """
p.id, p.case_id, p.status, p.reason, p.destination_zone_id, p.suspended_rule_ids, p.window_start,
p.window_end, p.requested_by, p.decided_by, p.decided_at, p.decision_note, p.created_at,
p.cancelled_by, p.cancelled_at, p.cancel_note, p.ended_at
"""

#: Permits of case $1 overlapping [$2, $3) (NULLs: all), oldest first.
LIST_FOR_CASE = f"""
SELECT {PERMIT_COLUMNS} FROM leave_permits p
WHERE p.case_id = $1 AND ($2::timestamptz IS NULL OR p.window_end > $2)
  AND ($3::timestamptz IS NULL OR p.window_start < $3)
ORDER BY p.window_start, p.id
"""

#: Permits of cases the caller sees ($1 role, $2 unit, $3 uid), id below $4, at most $5;
#: filters $6 status, $7 case (NULL = any).
LIST_VISIBLE = f"""
SELECT {PERMIT_COLUMNS} FROM leave_permits p JOIN cases c ON c.id = p.case_id
WHERE {visible(1, 2, 3)} AND p.id < $4 AND ($6::text IS NULL OR p.status = $6)
  AND ($7::bigint IS NULL OR p.case_id = $7)
ORDER BY p.id DESC LIMIT $5
"""

#: $1 permit, $2 role, $3 unit, $4 uid: a permit of a case the caller sees.
SELECT_VISIBLE = f"""
SELECT {PERMIT_COLUMNS} FROM leave_permits p JOIN cases c ON c.id = p.case_id
WHERE p.id = $1 AND {visible(2, 3, 4)}
"""
SELECT_VISIBLE_FOR_UPDATE = SELECT_VISIBLE + " FOR UPDATE OF p"

#: $1 case, $2 reason, $3 destination zone, $4 suspended rules, $5 start, $6 end, $7 requested by.
INSERT_PERMIT = f"""
INSERT INTO leave_permits AS p (case_id, reason, destination_zone_id, suspended_rule_ids,
                                window_start, window_end, requested_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING {PERMIT_COLUMNS}
"""

#: $1 permit, $2 new status, $3 decided by, $4 note.
DECIDE = f"""
UPDATE leave_permits p SET status = $2, decided_by = $3, decided_at = now(), decision_note = $4
WHERE p.id = $1 AND p.status = 'requested'
RETURNING {PERMIT_COLUMNS}
"""

#: The transaction's clock (``now()``), which ``CANCEL`` stamps as well.
SELECT_NOW = "SELECT now()"

#: $1 permit, $2 cancelled by, $3 note, $4 the end of its effect (NULL: it never had one).
CANCEL = f"""
UPDATE leave_permits p SET status = 'cancelled', cancelled_by = $2, cancelled_at = now(),
                           cancel_note = $3, ended_at = $4
WHERE p.id = $1 AND p.status IN ('requested', 'approved')
RETURNING {PERMIT_COLUMNS}
"""

#: $1 case, $2 rule ids: how many of them belong to the case.
COUNT_CASE_RULES = "SELECT count(*) FROM case_rules WHERE case_id = $1 AND id = ANY($2::bigint[])"
