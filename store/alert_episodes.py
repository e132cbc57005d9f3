"""SQL creating alerts and appending to their timeline, idempotently.

An alert is unique per ``episode_key``; a timeline entry made by evaluation per ``event_key``.
The outbox row of each timeline entry is written by the ``alert_events_outbox`` trigger (0020)
in the same transaction. Each operation is one statement.
"""

from __future__ import annotations

#: Open: $1 case, $2 rule, $3 device, $4 unit, $5 kind, $6 severity, $7 episode key,
#: $8 started at, $9 late, $10 evidence, $11 event key, $12 timeline data.
#: Returns the new alert's id (no row when the episode already had its alert).
OPEN_ALERT = """
WITH a AS (
    INSERT INTO alerts (case_id, rule_id, device_id, unit_id, kind, severity, episode_key,
                        started_at, late, evidence)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (episode_key) DO NOTHING
    RETURNING id
)
INSERT INTO alert_events (alert_id, kind, data, event_key)
SELECT id, 'opened', $12, $11 FROM a
ON CONFLICT (event_key) DO NOTHING
RETURNING alert_id
"""

#: Evidence: $1 episode key, $2 event key, $3 timeline data, $4 evidence (array); fixes the
#: alert already holds are not added again; at most 1000 are kept.
ADD_EVIDENCE = """
WITH e AS (
    INSERT INTO alert_events (alert_id, kind, data, event_key)
    SELECT id, 'evidence_added', $3, $2 FROM alerts WHERE episode_key = $1
    ON CONFLICT (event_key) DO NOTHING
    RETURNING alert_id
)
UPDATE alerts a SET evidence = a.evidence || coalesce(
    (SELECT jsonb_agg(x) FROM jsonb_array_elements($4::jsonb) AS x
     WHERE NOT a.evidence @> jsonb_build_array(x)), '[]'::jsonb)
FROM e WHERE a.id = e.alert_id AND jsonb_array_length(a.evidence) < 1000
"""

#: Cleared: $1 episode key, $2 event key, $3 cleared at, $4 timeline data.
CLEAR_ALERT = """
WITH a AS (
    UPDATE alerts SET cleared_at = $3 WHERE episode_key = $1 AND cleared_at IS NULL
    RETURNING id
)
INSERT INTO alert_events (alert_id, kind, data, event_key)
SELECT id, 'condition_cleared', $4, $2 FROM a
ON CONFLICT (event_key) DO NOTHING
RETURNING alert_id
"""
