"""SQL for ``cases``, ``case_events`` and ``persons`` as the API reads and writes them.

Visibility (``$role``, ``$unit``, ``$uid`` in each query): police and supervisors see the cases
their unit supervises; prosecutors the cases of their procuratorate or assigned to them;
administrators the cases supervised by their unit or any unit below it; auditors none.
"""

from __future__ import annotations


def visible(role: int, unit: int, uid: int, alias: str = "c") -> str:
    """The case-visibility predicate over ``alias`` with the given parameter numbers."""
    r, u, i, c = f"${role}::text", f"${unit}::bigint", f"${uid}::bigint", alias
    return f"""(
    ({r} IN ('police', 'supervisor') AND {c}.supervising_unit_id = {u})
    OR ({r} = 'prosecutor' AND ({c}.procuratorate_unit_id = {u} OR {c}.prosecutor_user_id = {i}))
    OR ({r} = 'admin' AND {c}.supervising_unit_id IN (SELECT bw_unit_subtree({u})))
)"""


CASE_COLUMNS = """
c.id, c.case_number, c.person_id, c.measure, c.status, c.period_start, c.period_end,
c.supervising_unit_id, c.procuratorate_unit_id, c.prosecutor_user_id, c.timezone, c.conditions,
c.no_signal_limit_s, c.released_at, c.legal_hold, c.purged_at, c.created_at,
c.deciding_authority,
(SELECT a.device_id FROM device_assignments a
  WHERE a.case_id = c.id AND a.role = 'defendant' AND a.valid_to IS NULL LIMIT 1) AS device_id
"""

#: $1 id; $2 role, $3 unit, $4 user id. A case the caller may see (optionally FOR UPDATE).
SELECT_VISIBLE = f"SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = $1 AND {visible(2, 3, 4)}"
SELECT_VISIBLE_FOR_UPDATE = SELECT_VISIBLE + " FOR UPDATE OF c"

#: Cases the caller sees ($1 role, $2 unit, $3 uid), id below $4, at most $5, with filters
#: $6 status, $7 measure, $8 case number prefix (each NULL = any).
LIST_VISIBLE = f"""
SELECT {CASE_COLUMNS} FROM cases c
WHERE {visible(1, 2, 3)} AND c.id < $4
  AND ($6::text IS NULL OR c.status = $6) AND ($7::text IS NULL OR c.measure = $7)
  AND ($8::text IS NULL OR c.case_number LIKE $8 || '%')
ORDER BY c.id DESC LIMIT $5
"""

#: $1 case number, $2 person, $3 measure, $4 period start, $5 end, $6 supervising unit,
#: $7 procuratorate, $8 prosecutor, $9 time zone, $10 conditions, $11 no-signal limit (s),
#: $12 deciding authority (NULL: the setting's default).
INSERT_CASE = f"""
WITH c AS (
    INSERT INTO cases (case_number, person_id, measure, period_start, period_end,
                       supervising_unit_id, procuratorate_unit_id, prosecutor_user_id, timezone,
                       conditions, no_signal_limit_s, deciding_authority)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
    ON CONFLICT (case_number) DO NOTHING
    RETURNING *
)
SELECT {CASE_COLUMNS} FROM c
"""

#: $1 id, then new values or NULL (unchanged): $2 period start, $3 end, $4 procuratorate,
#: $5 prosecutor, $6 conditions, $7 no-signal limit, $8 legal hold, $9 deciding authority.
UPDATE_CASE = """
UPDATE cases SET period_start = coalesce($2, period_start), period_end = coalesce($3, period_end),
    procuratorate_unit_id = coalesce($4, procuratorate_unit_id),
    prosecutor_user_id = coalesce($5, prosecutor_user_id), conditions = coalesce($6, conditions),
    no_signal_limit_s = coalesce($7, no_signal_limit_s), legal_hold = coalesce($8, legal_hold),
    deciding_authority = coalesce($9, deciding_authority)
WHERE id = $1
"""

#: $1 id, $2 new status; releasing stamps ``released_at`` (the retention clock starts).
UPDATE_STATUS = """
UPDATE cases SET status = $2,
    released_at = CASE WHEN $2 = 'released' THEN now() ELSE released_at END
WHERE id = $1
"""

#: $1 case: end the open device assignments of a released case.
END_ASSIGNMENTS = """
UPDATE device_assignments SET valid_to = now()
WHERE case_id = $1 AND valid_to IS NULL AND valid_from < now()
RETURNING device_id
"""

#: $1 case, $2 actor, $3 from, $4 to, $5 note.
INSERT_EVENT = """
INSERT INTO case_events (case_id, actor_id, from_status, to_status, note)
VALUES ($1, $2, $3, $4, $5)
"""

#: $1 case.
SELECT_EVENTS = """
SELECT id, at, actor_id, from_status, to_status, note FROM case_events
WHERE case_id = $1 ORDER BY id
"""

#: $1 unit, $2 kind: whether the unit exists with that kind.
UNIT_OF_KIND = "SELECT EXISTS (SELECT 1 FROM units WHERE id = $1 AND kind = $2)"

#: $1 user, $2 unit: whether a prosecutor of that procuratorate.
PROSECUTOR_OF = """
SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND role = 'prosecutor' AND unit_id = $2)
"""

#: $1 unit, $2 root: whether ``$1`` is ``$2`` or below it.
UNIT_WITHIN = "SELECT $1::bigint IN (SELECT bw_unit_subtree($2::bigint))"

_PERSON_COLUMNS = "p.id, p.full_name, p.id_number, p.birth_date, p.phone, p.address, p.created_at"


def _person_visible(role: int, unit: int, uid: int) -> str:
    """A person is visible through a visible case, or to the unit (tree) that registered it."""
    return f"""(
    EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id AND {visible(role, unit, uid)})
    OR (${role}::text IN ('police', 'supervisor') AND p.unit_id = ${unit}::bigint)
    OR (${role}::text = 'admin' AND p.unit_id IN (SELECT bw_unit_subtree(${unit}::bigint)))
)"""


#: Persons the caller sees ($1 role, $2 unit, $3 uid), id below $4, at most $5.
LIST_PERSONS = f"""
SELECT {_PERSON_COLUMNS} FROM persons p
WHERE p.id < $4 AND {_person_visible(1, 2, 3)}
ORDER BY p.id DESC LIMIT $5
"""

#: $1 id, then $2 role, $3 unit, $4 uid.
SELECT_PERSON = (
    f"SELECT {_PERSON_COLUMNS} FROM persons p WHERE p.id = $1 AND {_person_visible(2, 3, 4)}"
)

#: $1 full name, $2 id number, $3 birth date, $4 phone, $5 address, $6 registering unit.
INSERT_PERSON = f"""
INSERT INTO persons AS p (full_name, id_number, birth_date, phone, address, unit_id)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING {_PERSON_COLUMNS}
"""
