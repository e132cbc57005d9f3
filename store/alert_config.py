"""SQL reading what alert evaluation depends on, and its version (bumped by triggers, 0020)."""

from __future__ import annotations

#: The configuration version; ingesters reload their ruleset when it moves.
SELECT_VERSION = "SELECT version FROM alert_config_version"

#: Active cases with routing and no-signal limit.
SELECT_CASES = """
SELECT id, supervising_unit_id, timezone, no_signal_limit_s FROM cases WHERE status = 'active'
"""

#: Active rules of active cases.
SELECT_RULES = """
SELECT r.id, r.case_id, r.kind, r.zone_id, r.grace, r.schedule, r.params, r.severity,
       r.valid_from, r.valid_to
FROM case_rules r JOIN cases c ON c.id = r.case_id
WHERE r.active AND c.status = 'active'
ORDER BY r.id
"""

#: Permits in effect for some time: approved ones, and approved ones cancelled during their window
#: (``ended_at`` set, migration 0045), which count up to their cancellation.
PERMIT_HAD_EFFECT = "(status = 'approved' OR ended_at IS NOT NULL)"

#: Zones named by active rules or by permits in effect.
SELECT_ZONES = f"""
SELECT z.id, z.name, z.kind, z.geometry, z.radius_m, z.width_m FROM zones z
WHERE z.id IN (SELECT zone_id FROM case_rules WHERE active AND zone_id IS NOT NULL
               UNION SELECT destination_zone_id FROM leave_permits
               WHERE {PERMIT_HAD_EFFECT} AND destination_zone_id IS NOT NULL)
"""

#: Permits in effect not ended more than $1 seconds ago (overdue returns need recent ones), each
#: ending at its cancellation when it was cut short.
SELECT_PERMITS = f"""
SELECT id, case_id, window_start, coalesce(ended_at, window_end) AS window_end,
       suspended_rule_ids, destination_zone_id
FROM leave_permits
WHERE {PERMIT_HAD_EFFECT} AND coalesce(ended_at, window_end) > now() - make_interval(secs => $1)
ORDER BY id
"""

#: Assignments of active cases (open, or closed within the last $1 seconds: late fixes).
SELECT_ASSIGNMENTS = """
SELECT a.device_id, a.case_id, a.role, a.valid_from, a.valid_to
FROM device_assignments a JOIN cases c ON c.id = a.case_id
WHERE c.status = 'active' AND (a.valid_to IS NULL OR a.valid_to > now() - make_interval(secs => $1))
ORDER BY a.device_id, a.valid_from
"""
