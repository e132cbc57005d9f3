"""SQL for ``devices`` as the API manages them: registration in a unit's stock, lists, scoping.

Visibility (``$role``, ``$unit``): police and supervisors see the devices their unit holds;
administrators those of their unit and the units below it.
"""

from __future__ import annotations


def _visible(role: int, unit: int) -> str:
    r, u = f"${role}::text", f"${unit}::bigint"
    return f"""(
    ({r} IN ('police', 'supervisor') AND d.unit_id = {u})
    OR ({r} = 'admin' AND d.unit_id IN (SELECT bw_unit_subtree({u})))
)"""


_COLUMNS = """
d.id, d.unit_id, d.imei, d.model, d.firmware, d.mqtt_username, d.status, d.provisioned_at,
d.created_at, a.case_id AS assigned_case_id, a.role AS assigned_role
"""
_FROM = """
FROM devices d
LEFT JOIN device_assignments a ON a.device_id = d.id AND a.valid_to IS NULL
"""

#: $1 id, $2 unit, $3 IMEI, $4 model; nothing returned when the id or the IMEI exists.
INSERT_DEVICE = """
INSERT INTO devices (id, unit_id, imei, model) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING
RETURNING id
"""

#: Devices the caller sees ($1 role, $2 unit), id (text) after $3 in descending order, at most
#: $4; filters $5 status, $6 assigned (NULL = any).
LIST_VISIBLE = f"""
SELECT {_COLUMNS} {_FROM}
WHERE {_visible(1, 2)} AND ($3::text IS NULL OR d.id < $3)
  AND ($5::text IS NULL OR d.status = $5) AND ($6::boolean IS NULL OR (a.id IS NOT NULL) = $6)
ORDER BY d.id DESC LIMIT $4
"""

#: $1 id, $2 role, $3 unit.
SELECT_VISIBLE = f"SELECT {_COLUMNS} {_FROM} WHERE d.id = $1 AND {_visible(2, 3)}"

#: $1 id, $2 role, $3 unit: lock a visible device (serialises assignments of one device).
LOCK_VISIBLE = (
    f"SELECT d.id, d.status FROM devices d WHERE d.id = $1 AND {_visible(2, 3)} FOR UPDATE"
)
