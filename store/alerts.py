"""SQL for the alert lifecycle (``alerts`` status columns and ``alert_events``) and alert reads.

Alerts are created by the alerts package; here they are read, acknowledged and resolved. Nothing
is deleted: every change appends to ``alert_events``.

Visibility (``$role``, ``$unit``, ``$uid``): police and supervisors see the alerts routed to their
unit (``alerts.unit_id``); prosecutors the alerts of the cases they may see (their
procuratorate's or assigned to them). Other roles see none.
"""

from __future__ import annotations


def _visible(role: int, unit: int, uid: int) -> str:
    r, u, i = f"${role}::text", f"${unit}::bigint", f"${uid}::bigint"
    return f"""(
    ({r} IN ('police', 'supervisor') AND a.unit_id = {u})
    OR ({r} = 'prosecutor' AND (c.procuratorate_unit_id = {u} OR c.prosecutor_user_id = {i}))
)"""


ALERT_COLUMNS = """
a.id, a.case_id, a.rule_id, a.device_id, a.unit_id, a.kind, a.severity, a.status, a.started_at,
a.opened_at, a.cleared_at, a.late, a.evidence, a.acknowledged_at, a.acknowledged_by,
a.resolved_at, a.resolved_by, a.disposition, a.resolution_note, a.escalation_level,
a.follows_alert_id
"""

#: Alerts the caller sees ($1 role, $2 unit, $3 uid), id below $4, at most $5; filters
#: $6 status, $7 kind, $8 severity, $9 case, $10 opened at or after, $11 opened before (NULL = any).
LIST_VISIBLE = f"""
SELECT {ALERT_COLUMNS} FROM alerts a JOIN cases c ON c.id = a.case_id
WHERE {_visible(1, 2, 3)} AND a.id < $4
  AND ($6::text IS NULL OR a.status = $6) AND ($7::text IS NULL OR a.kind = $7)
  AND ($8::text IS NULL OR a.severity = $8) AND ($9::bigint IS NULL OR a.case_id = $9)
  AND ($10::timestamptz IS NULL OR a.opened_at >= $10)
  AND ($11::timestamptz IS NULL OR a.opened_at < $11)
ORDER BY a.id DESC LIMIT $5
"""

#: $1 alert, $2 role, $3 unit, $4 uid.
SELECT_VISIBLE = f"""
SELECT {ALERT_COLUMNS} FROM alerts a JOIN cases c ON c.id = a.case_id
WHERE a.id = $1 AND {_visible(2, 3, 4)}
"""
SELECT_VISIBLE_FOR_UPDATE = SELECT_VISIBLE + " FOR UPDATE OF a"

#: $1 alert, $2 at, $3 actor: acknowledge (only an open alert).
UPDATE_ACKNOWLEDGED = """
UPDATE alerts SET status = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3
WHERE id = $1 AND status = 'open'
"""

#: $1 alert, $2 at, $3 actor, $4 disposition, $5 note: resolve an open or acknowledged alert; an
#: open one is acknowledged at the same moment by the same actor (implicit acknowledgement).
UPDATE_RESOLVED = """
UPDATE alerts SET status = 'resolved', resolved_at = $2, resolved_by = $3, disposition = $4,
                  resolution_note = $5, acknowledged_at = coalesce(acknowledged_at, $2),
                  acknowledged_by = coalesce(acknowledged_by, $3)
WHERE id = $1 AND status IN ('open', 'acknowledged')
"""

#: $1 alert, $2 at, $3 actor, $4 kind, $5 data.
INSERT_EVENT = (
    "INSERT INTO alert_events (alert_id, at, actor_id, kind, data) VALUES ($1, $2, $3, $4, $5)"
)

#: $1 alert.
SELECT_EVENTS = (
    "SELECT id, at, actor_id, kind, data FROM alert_events WHERE alert_id = $1 ORDER BY id"
)

#: Alerts of case $1 that started in [$2, $3), oldest first (compliance report).
SELECT_FOR_CASE_RANGE = f"""
SELECT {ALERT_COLUMNS} FROM alerts a
WHERE a.case_id = $1 AND a.started_at >= $2 AND a.started_at < $3
ORDER BY a.started_at, a.id
"""
