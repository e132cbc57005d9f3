"""SQL for ``login_failures`` (migration 0050): failed logins per throttling key (username,
username and address, address), shared by every API process. Keys are locked with transaction
advisory locks in the two-key form (class ``THROTTLE_LOCK_CLASS``, ``hashtext(key)``), so
concurrent attempts on one key are counted one after the other; the lock space of the
single-key locks used elsewhere is separate."""

from __future__ import annotations

#: Advisory lock class of throttling keys ("bwlt").
THROTTLE_LOCK_CLASS = 0x62776C74

#: Lock the keys $1 (text[]) until the end of the transaction, in the order of their lock ids, so
#: two attempts never wait on each other in opposite orders.
LOCK_KEYS = f"""
SELECT pg_advisory_xact_lock({THROTTLE_LOCK_CLASS}, k.h)
FROM (SELECT DISTINCT hashtext(key) AS h FROM unnest($1::text[]) AS key ORDER BY h) k
"""

#: Seconds until every key of $1 has fewer failures than its limit in $2 (int[], same order)
#: within the last $3 seconds (0 or less: allowed now): for a key at its limit, when its
#: limit-th most recent failure leaves the window.
SELECT_WAIT_S = """
SELECT coalesce(max(extract(epoch FROM nth.failed_at + make_interval(secs => $3) - now())), 0)
       ::float8
FROM unnest($1::text[], $2::int[]) AS k(key, lim)
CROSS JOIN LATERAL (
    SELECT f.failed_at FROM login_failures f
    WHERE f.key = k.key AND f.failed_at > now() - make_interval(secs => $3)
    ORDER BY f.failed_at DESC OFFSET k.lim - 1 LIMIT 1
) nth
"""

#: Count one attempt against each key of $1 (it stays a failure unless the attempt succeeds) and
#: purge every failure older than $2 seconds; returns the new rows' ids.
INSERT_ATTEMPT = """
WITH purged AS (
    DELETE FROM login_failures WHERE failed_at <= now() - make_interval(secs => $2)
)
INSERT INTO login_failures (key) SELECT unnest($1::text[]) RETURNING id
"""

#: After a good login: forget every failure of the keys $1 and the attempt's own rows $2.
DELETE_AFTER_SUCCESS = """
DELETE FROM login_failures WHERE key = ANY($1::text[]) OR id = ANY($2::bigint[])
"""
