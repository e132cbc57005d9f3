"""SQL for ``case_rules`` (zone + kind + schedule + grace) and the zones they name."""

from __future__ import annotations

_RULE_COLUMNS = """
r.id, r.case_id, r.kind, r.zone_id, r.grace, r.schedule, r.params, r.severity, r.valid_from,
r.valid_to, r.active, r.created_at
"""

#: $1 case.
LIST_RULES = f"SELECT {_RULE_COLUMNS} FROM case_rules r WHERE r.case_id = $1 ORDER BY r.id"

#: $1 rule, $2 case.
SELECT_RULE = f"SELECT {_RULE_COLUMNS} FROM case_rules r WHERE r.id = $1 AND r.case_id = $2"
SELECT_RULE_FOR_UPDATE = SELECT_RULE + " FOR UPDATE"

#: $1 case, $2 kind, $3 zone, $4 grace, $5 schedule, $6 params, $7 severity, $8 from, $9 to.
INSERT_RULE = f"""
INSERT INTO case_rules AS r (case_id, kind, zone_id, grace, schedule, params, severity,
                             valid_from, valid_to)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING {_RULE_COLUMNS}
"""

#: $1 rule, $2 case, then new values or NULL: $3 grace, $4 schedule, $5 severity, $6 active,
#: $7 valid_to, $8 valid_from.
UPDATE_RULE = f"""
UPDATE case_rules r SET grace = coalesce($3, grace), schedule = coalesce($4, schedule),
    severity = coalesce($5, severity), active = coalesce($6, active),
    valid_to = coalesce($7, valid_to), valid_from = coalesce($8, valid_from)
WHERE r.id = $1 AND r.case_id = $2
RETURNING {_RULE_COLUMNS}
"""

#: Active zoned rules of case $1 with their zone (stored WGS84 GeoJSON).
SELECT_ZONED_RULES = """
SELECT r.id AS rule_id, r.kind, z.id AS zone_id, z.name, z.kind AS zone_kind, z.geometry,
       z.radius_m, z.width_m
FROM case_rules r JOIN zones z ON z.id = r.zone_id
WHERE r.case_id = $1 AND r.active ORDER BY r.id
"""
