"""SQL of the watchdog: silent devices (no signal), their return, and escalation."""

from __future__ import annotations

from store.alert_config import PERMIT_HAD_EFFECT

_SILENT = """
WITH o AS (
    SELECT * FROM unnest($2::bigint[], $3::float8[], $4::text[], $5::bigint[], $6::boolean[])
        AS o(case_id, limit_s, severity, rule_id, enabled)
)
SELECT a.case_id, a.device_id, c.supervising_unit_id AS unit_id,
       coalesce(o.limit_s, c.no_signal_limit_s)::float8 AS limit_s, o.severity, o.rule_id,
       coalesce(s.last_seen_at, a.valid_from) AS last_seen
FROM device_assignments a
JOIN cases c ON c.id = a.case_id AND c.status = 'active'
LEFT JOIN o ON o.case_id = a.case_id
LEFT JOIN device_status s ON s.device_id = a.device_id
LEFT JOIN device_conditions dc ON dc.case_id = a.case_id AND dc.kind = 'no_signal'
WHERE a.role = 'defendant' AND a.valid_to IS NULL AND coalesce(o.enabled, true)
  AND coalesce(s.last_seen_at, a.valid_from)
      < $1::timestamptz - make_interval(secs => coalesce(o.limit_s, c.no_signal_limit_s))
  AND (dc.case_id IS NULL OR (NOT dc.open AND dc.since < coalesce(s.last_seen_at, a.valid_from)))
"""

#: Defendants' devices silent at $1 for longer than their case's limit, with no open condition
#: (nor one already raised for this silence). The cases whose no_signal rule applies at $1 are
#: given as arrays: $2 case, $3 limit (s; NULL: the case's own), $4 severity (NULL: default),
#: $5 rule, $6 enabled (false: not watched); the other cases use ``cases.no_signal_limit_s``.
SELECT_SILENT = _SILENT + " ORDER BY a.device_id"

#: The same, only for devices $7 (re-checked under their locks).
SELECT_SILENT_OF = _SILENT + " AND a.device_id = ANY($7::text[]) ORDER BY a.device_id"

_NO_SIGNAL_RULES = f"""
SELECT r.id, r.case_id, r.kind, r.params, r.severity, r.valid_from, r.valid_to,
       coalesce(p.starts, '{{}}') AS suspended_from, coalesce(p.ends, '{{}}') AS suspended_to
FROM case_rules r JOIN cases c ON c.id = r.case_id
LEFT JOIN LATERAL (
    SELECT array_agg(lp.window_start ORDER BY lp.id) AS starts,
           array_agg(coalesce(lp.ended_at, lp.window_end) ORDER BY lp.id) AS ends
    FROM leave_permits lp
    WHERE lp.case_id = r.case_id AND r.id = ANY(lp.suspended_rule_ids) AND {PERMIT_HAD_EFFECT}
) p ON true
WHERE r.active AND r.kind = 'no_signal'
"""

#: Active no_signal rules of active cases (the watchdog judges which applies at each round),
#: each with the windows of the permits in effect that name it (``suspended_from``,
#: ``suspended_to``: the rule is off in ``[from, to)``; a cancelled permit ends at its
#: cancellation).
SELECT_NO_SIGNAL_RULES = _NO_SIGNAL_RULES + " AND c.status = 'active' ORDER BY r.id"

#: The same for the one case $1 (its compliance report), whatever the case's status.
SELECT_CASE_NO_SIGNAL_RULES = _NO_SIGNAL_RULES + " AND r.case_id = $1 ORDER BY r.id"

#: Open no-signal conditions whose device has been heard from since (backstop of the ingester's
#: clearing): case, device, episode key, when it was heard.
SELECT_RETURNED = """
SELECT dc.case_id, dc.device_id, dc.episode_key, s.last_seen_at
FROM device_conditions dc JOIN device_status s ON s.device_id = dc.device_id
WHERE dc.kind = 'no_signal' AND dc.open AND s.last_seen_at > dc.since
ORDER BY dc.device_id
FOR UPDATE OF dc
"""

#: Escalate open alerts past their SLA ($1 severities, $2 first threshold s, $3 second
#: threshold s): one 'escalated' timeline entry per level crossed, naming the unit's supervisors.
#: Returns (alert, level, severity).
ESCALATE = """
WITH sla AS (
    SELECT * FROM unnest($1::text[], $2::float8[], $3::float8[]) AS s(severity, first_s, second_s)
), due AS (
    SELECT a.id, a.unit_id, a.severity, a.escalation_level AS old,
           CASE WHEN a.opened_at <= now() - make_interval(secs => s.second_s) THEN 2 ELSE 1 END
               AS new
    FROM alerts a JOIN sla s ON s.severity = a.severity
    WHERE a.status = 'open' AND a.escalation_level < 2
      AND a.opened_at <= now() - make_interval(secs => s.first_s)
    FOR UPDATE OF a SKIP LOCKED
), up AS (
    UPDATE alerts a SET escalation_level = due.new FROM due
    WHERE a.id = due.id AND due.new > due.old
    RETURNING a.id, a.unit_id, due.severity, due.old, due.new
)
INSERT INTO alert_events (alert_id, kind, data, event_key)
SELECT up.id, 'escalated',
       jsonb_build_object(
           'level', lvl, 'severity', up.severity,
           'notify_user_ids', (SELECT coalesce(jsonb_agg(u.id ORDER BY u.id), '[]'::jsonb)
                               FROM users u
                               WHERE u.unit_id = up.unit_id AND u.role = 'supervisor'
                                 AND u.active)),
       up.id || ':escalated:' || lvl
FROM up, generate_series(up.old + 1, up.new) AS lvl
ON CONFLICT (event_key) DO NOTHING
RETURNING alert_id, (data ->> 'level')::int AS level
"""

#: Supervising unit of cases $1.
SELECT_CASE_UNITS = (
    "SELECT id, supervising_unit_id AS unit_id FROM cases WHERE id = ANY($1::bigint[])"
)
