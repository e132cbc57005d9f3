"""SQL of the printable compliance report: the names in its header, the evidence of each
alert for its inset maps, and the rendered document's hash on the access-log entry of the read."""

from __future__ import annotations

#: $1 case, $2 the user generating the report: the people and units the header names.
SELECT_HEADER = """
SELECT p.full_name AS defendant, su.name AS supervising_unit, pu.name AS procuratorate,
       pr.display_name AS prosecutor, g.display_name AS generator, g.username AS generator_login,
       gu.name AS generator_unit
FROM cases c
JOIN persons p ON p.id = c.person_id
JOIN units su ON su.id = c.supervising_unit_id
LEFT JOIN units pu ON pu.id = c.procuratorate_unit_id
LEFT JOIN users pr ON pr.id = c.prosecutor_user_id
JOIN users g ON g.id = $2
JOIN units gu ON gu.id = g.unit_id
WHERE c.id = $1
"""

#: Case $1's alerts started in [$2, $3) (the report's alerts) with their rule and evidence
#: (``[{device_id, fix_time, seq}]``).
SELECT_ALERT_EVIDENCE = """
SELECT a.id, a.kind, a.rule_id, a.evidence FROM alerts a
WHERE a.case_id = $1 AND a.started_at >= $2 AND a.started_at < $3
ORDER BY a.started_at, a.id
"""

#: $1 access-log id, $2 SHA-256 (hex) of the document the read produced. Set once, in the
#: transaction that wrote the entry, so the committed entry is never seen without it.
SET_DOCUMENT_HASH = """
UPDATE access_log SET document_sha256 = $2 WHERE id = $1 AND document_sha256 IS NULL
"""
