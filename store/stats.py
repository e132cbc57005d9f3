"""SQL for operator summaries (the demo's live status line)."""

from __future__ import annotations

#: Fixes of the last day: count, distinct watches, newest fix time, received in the last 10 s.
SELECT_RECENT_PINGS = """
SELECT count(*) AS fixes,
       count(DISTINCT device_id) AS devices,
       max(fix_time) AS newest,
       count(*) FILTER (WHERE received_at > now() - interval '10 seconds') AS last_10s
FROM pings WHERE fix_time > now() - interval '1 day'
"""

#: Dead letters of the last day.
SELECT_RECENT_DEAD_LETTERS = (
    "SELECT count(*) FROM dead_letters WHERE received_at > now() - interval '1 day'"
)
