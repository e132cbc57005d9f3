"""SQL for ``device_assignments`` as the API manages and reports them."""

from __future__ import annotations

#: Seconds of [$2, $3) during which case $1 had a defendant device assigned.
SELECT_MONITORED_SECONDS = """
SELECT coalesce(sum(extract(epoch FROM
           least(coalesce(a.valid_to, 'infinity'), $3) - greatest(a.valid_from, $2))), 0)::float8
FROM device_assignments a
WHERE a.case_id = $1 AND a.role = 'defendant' AND a.valid_from < $3
  AND coalesce(a.valid_to, 'infinity') > $2
"""

_COLUMNS = "id, device_id, case_id, role, valid_from, valid_to"

#: $1 device: its open assignment, if any.
SELECT_OPEN_FOR_DEVICE = (
    f"SELECT {_COLUMNS} FROM device_assignments WHERE device_id = $1 AND valid_to IS NULL"
)

#: $1 case, $2 role: the open assignments of that role.
SELECT_OPEN_FOR_CASE = f"""
SELECT {_COLUMNS} FROM device_assignments WHERE case_id = $1 AND role = $2 AND valid_to IS NULL
"""

#: $1 device, $2 case, $3 role, $4 start (NULL: now).
INSERT_ASSIGNMENT = f"""
INSERT INTO device_assignments (device_id, case_id, role, valid_from)
VALUES ($1, $2, $3, coalesce($4::timestamptz, now()))
RETURNING {_COLUMNS}
"""

#: $1 case: the start of its measure (midnight of ``period_start`` in the case's zone; NULL if
#: the period is not recorded) and the database's clock.
SELECT_CASE_BOUNDS = """
SELECT (period_start::timestamp AT TIME ZONE timezone) AS measure_start, now() AS now
FROM cases WHERE id = $1
"""

#: $1 assignment, $2 case: the assignment, locked for a correction.
LOCK_ASSIGNMENT = f"""
SELECT {_COLUMNS} FROM device_assignments WHERE id = $1 AND case_id = $2 FOR UPDATE
"""

#: Another assignment (not $1) that overlaps [$5, $6) ($6 NULL: open): of device $2, or, for a
#: defendant watch ($4), the case $3's defendant watch. The first such, if any.
SELECT_OVERLAP = f"""
SELECT {_COLUMNS} FROM device_assignments
WHERE id IS DISTINCT FROM $1::bigint
  AND (device_id = $2 OR ($4::text = 'defendant' AND case_id = $3 AND role = 'defendant'))
  AND valid_from < coalesce($6::timestamptz, 'infinity')
  AND coalesce(valid_to, 'infinity') > $5::timestamptz
ORDER BY valid_from LIMIT 1
"""

#: $1 assignment, $2 its new start.
SET_START = f"""
UPDATE device_assignments SET valid_from = $2 WHERE id = $1 RETURNING {_COLUMNS}
"""

#: $1 case, $2 device: end the open assignment now (history is kept).
END_ASSIGNMENT = f"""
UPDATE device_assignments SET valid_to = greatest(now(), valid_from + interval '1 millisecond')
WHERE case_id = $1 AND device_id = $2 AND valid_to IS NULL
RETURNING {_COLUMNS}
"""

#: $1 case: every assignment, newest first.
LIST_FOR_CASE = f"SELECT {_COLUMNS} FROM device_assignments WHERE case_id = $1 ORDER BY id DESC"
