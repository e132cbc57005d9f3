"""SQL the compliance report needs beyond the tables' own modules."""

from __future__ import annotations

#: $1 case, $2 from, $3 to: the windows of [$2, $3) in which a defendant device was assigned
#: to the case (device, start, end; an open assignment ends at $3). A protected person's device
#: reports for the case too, but its fixes are not the defendant's.
SELECT_MONITORED_WINDOWS = """
SELECT a.device_id, greatest(a.valid_from, $2) AS start,
       least(coalesce(a.valid_to, 'infinity'), $3) AS end
FROM device_assignments a
WHERE a.case_id = $1 AND a.role = 'defendant' AND a.valid_from < $3
  AND coalesce(a.valid_to, 'infinity') > $2
ORDER BY 1
"""
