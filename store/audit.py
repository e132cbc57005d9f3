"""SQL for ``access_log``: who looked at whose data, over which range, and why. Append-only."""

from __future__ import annotations

INSERT_ACCESS = """
INSERT INTO access_log (principal, user_id, case_id, action, range_from, range_to, purpose, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id
"""

#: One row per case in $3 (bigint[]): a read of several cases' positions at once.
INSERT_ACCESS_MANY = """
INSERT INTO access_log (principal, user_id, case_id, action, range_from, range_to, purpose, detail)
SELECT $1, $2, c, $4, $5, $6, $7, $8 FROM unnest($3::bigint[]) AS c
"""

#: Entries with id below $1, at most $2; filters $3 case, $4 user, $5 since, $6 until (NULL = any).
LIST_ACCESS = """
SELECT id, at, principal, user_id, case_id, action, range_from, range_to, purpose, detail
FROM access_log
WHERE id < $1 AND ($3::bigint IS NULL OR case_id = $3) AND ($4::bigint IS NULL OR user_id = $4)
  AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6)
ORDER BY id DESC LIMIT $2
"""
