"""SQL for ``zones``: stored in WGS84 (``geometry``) with the datum they were drawn in and the
original input (``source``).

Visibility (``$role``, ``$unit``, ``$uid``): police and supervisors see their unit's zones;
administrators those of their unit and below; prosecutors the zones named by rules of the cases
they may see.
"""

from __future__ import annotations

from store.cases import visible


def _visible(role: int, unit: int, uid: int) -> str:
    r, u = f"${role}::text", f"${unit}::bigint"
    return f"""(
    ({r} IN ('police', 'supervisor') AND z.unit_id = {u})
    OR ({r} = 'admin' AND z.unit_id IN (SELECT bw_unit_subtree({u})))
    OR ({r} = 'prosecutor' AND EXISTS (
        SELECT 1 FROM case_rules r JOIN cases c ON c.id = r.case_id
        WHERE r.zone_id = z.id AND {visible(role, unit, uid)}))
)"""


_COLUMNS = """
z.id, z.unit_id, z.name, z.kind, z.geometry, z.radius_m, z.width_m, z.source_datum,
z.properties, z.created_at
"""

#: $1 unit, $2 name, $3 kind, $4 WGS84 geometry, $5 radius, $6 width, $7 datum, $8 source,
#: $9 properties.
INSERT_ZONE = f"""
INSERT INTO zones AS z (unit_id, name, kind, geometry, radius_m, width_m, source_datum, source,
                        properties)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING {_COLUMNS}
"""

#: Zones the caller sees ($1 role, $2 unit, $3 uid), id below $4, at most $5; $6 kind or NULL.
LIST_VISIBLE = f"""
SELECT {_COLUMNS} FROM zones z
WHERE {_visible(1, 2, 3)} AND z.id < $4 AND ($6::text IS NULL OR z.kind = $6)
ORDER BY z.id DESC LIMIT $5
"""

#: $1 zone, $2 role, $3 unit, $4 uid.
SELECT_VISIBLE = f"SELECT {_COLUMNS} FROM zones z WHERE z.id = $1 AND {_visible(2, 3, 4)}"
