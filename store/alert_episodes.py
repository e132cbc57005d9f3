"""SQL creating alerts and appending to their timeline, idempotently.

An alert is unique per ``episode_key``; a timeline entry made by evaluation per ``event_key``.
The outbox row of each timeline entry is written by the ``alert_events_outbox`` trigger (0020)
in the same transaction. An engine episode (``episode_root``, 0062) has one alert at a time: the
first is keyed by the episode itself; one that opens because the condition went on after its
predecessor was resolved is keyed ``{root}:after:{predecessor id}``. Evidence goes only to the
episode's newest alert, and never to a resolved one.
"""

from __future__ import annotations

#: Open: $1 case, $2 rule, $3 device, $4 unit, $5 kind, $6 severity, $7 episode key,
#: $8 started at, $9 late, $10 evidence, $11 event key, $12 timeline data.
#: Returns the new alert's id (no row when the episode already had its alert).
OPEN_ALERT = """
WITH a AS (
    INSERT INTO alerts (case_id, rule_id, device_id, unit_id, kind, severity, episode_key,
                        episode_root, started_at, late, evidence)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)
    ON CONFLICT (episode_key) DO NOTHING
    RETURNING id
)
INSERT INTO alert_events (alert_id, kind, data, event_key)
SELECT id, 'opened', $12, $11 FROM a
ON CONFLICT (event_key) DO NOTHING
RETURNING alert_id
"""

#: The newest alert of episode $1, locked (an officer resolving it waits, or is waited for),
#: with the grace of its rule (NULL for device conditions).
SELECT_CURRENT = """
SELECT a.id, a.status, a.resolved_at, a.disposition, r.grace
FROM alerts a LEFT JOIN case_rules r ON r.id = a.rule_id
WHERE a.episode_root = $1
ORDER BY a.id DESC LIMIT 1
FOR UPDATE OF a
"""

#: Evidence: $1 alert, $2 event key, $3 timeline data, $4 evidence (array), $5 device, $6 fix
#: time, $7 seq of the newest fix of $4. Not on a resolved alert. The timeline entry says how
#: many fixes it adds (``fixes``) and where the newest one is (``latest``, from ``pings``: the
#: fix is stored in the same transaction). Fixes the alert already holds are not added again;
#: at most 1000 are kept.
ADD_EVIDENCE = """
WITH e AS (
    INSERT INTO alert_events (alert_id, kind, data, event_key)
    SELECT a.id, 'evidence_added',
           $3::jsonb || jsonb_build_object('fixes', jsonb_array_length($4::jsonb), 'latest', (
               SELECT jsonb_build_object('device_id', p.device_id, 'fix_time', p.fix_time,
                                         'seq', p.seq, 'lon', p.lon, 'lat', p.lat, 'acc_m', p.acc)
               FROM pings p WHERE p.device_id = $5 AND p.fix_time = $6 AND p.seq = $7)),
           $2
    FROM alerts a WHERE a.id = $1 AND a.status <> 'resolved'
    ON CONFLICT (event_key) DO NOTHING
    RETURNING alert_id
)
UPDATE alerts a SET evidence = a.evidence || coalesce(
    (SELECT jsonb_agg(x) FROM jsonb_array_elements($4::jsonb) AS x
     WHERE NOT a.evidence @> jsonb_build_array(x)), '[]'::jsonb)
FROM e WHERE a.id = e.alert_id AND jsonb_array_length(a.evidence) < 1000
"""

#: Hold evidence of episode $1 after its resolved alert $2: $3 fixes (array) shown after the
#: resolution, $4 the first and $5 the last of their fix times. Fixes held already are not
#: added again. Returns how many are held and their first and last fix times.
HOLD_EVIDENCE = """
INSERT INTO alert_realert_pending AS p (episode_root, after_alert_id, evidence, first_fix_at,
                                        last_fix_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (episode_root) DO UPDATE SET
    evidence = p.evidence || coalesce(
        (SELECT jsonb_agg(x) FROM jsonb_array_elements(EXCLUDED.evidence) AS x
         WHERE NOT p.evidence @> jsonb_build_array(x)), '[]'::jsonb),
    first_fix_at = least(p.first_fix_at, EXCLUDED.first_fix_at),
    last_fix_at = greatest(p.last_fix_at, EXCLUDED.last_fix_at)
RETURNING jsonb_array_length(evidence) AS n, first_fix_at, last_fix_at
"""

#: A new alert of episode $1 after resolved alert $2, made of the held evidence (which is
#: released): $3 case, $4 rule, $5 device, $6 unit, $7 kind, $8 severity, $9 its episode key,
#: $10 event key, $11 timeline data. Returns the new alert's id.
OPEN_SUCCESSOR = """
WITH p AS (
    DELETE FROM alert_realert_pending WHERE episode_root = $1 AND after_alert_id = $2
    RETURNING evidence, first_fix_at
), a AS (
    INSERT INTO alerts (case_id, rule_id, device_id, unit_id, kind, severity, episode_key,
                        episode_root, follows_alert_id, started_at, late, evidence)
    SELECT $3, $4, $5, $6, $7, $8, $9, $1, $2, p.first_fix_at, false, p.evidence FROM p
    ON CONFLICT (episode_key) DO NOTHING
    RETURNING id, evidence
)
INSERT INTO alert_events (alert_id, kind, data, event_key)
SELECT id, 'opened', $11::jsonb || jsonb_build_object('evidence', evidence), $10 FROM a
ON CONFLICT (event_key) DO NOTHING
RETURNING alert_id
"""

#: Cleared: $1 episode key, $2 event key, $3 cleared at, $4 timeline data. Every alert of the
#: episode not yet cleared is (a resolved predecessor too); the timeline entry goes to the
#: newest; evidence held for a re-alert is dropped (the condition ended within its grace).
CLEAR_ALERT = """
WITH p AS (
    DELETE FROM alert_realert_pending WHERE episode_root = $1
), a AS (
    UPDATE alerts SET cleared_at = $3 WHERE episode_root = $1 AND cleared_at IS NULL
    RETURNING id
)
INSERT INTO alert_events (alert_id, kind, data, event_key)
SELECT max(id), 'condition_cleared', $4, $2 FROM a HAVING count(*) > 0
ON CONFLICT (event_key) DO NOTHING
RETURNING alert_id
"""
