"""SQL for ``units`` as administrators manage them: always within the administrator's subtree
(``bw_unit_subtree``), so one bureau never edits another's stations."""

from __future__ import annotations

_COLUMNS = "id, code, name, kind, parent_id, timezone, created_at"

#: $1 root: the ids of the unit and every unit below it.
SUBTREE = "SELECT array_agg(id) FROM bw_unit_subtree($1::bigint) AS t(id)"

#: Units within the subtree of $1, id below $2, newest first, at most $3; $4 kind or NULL.
LIST_UNITS = f"""
SELECT {_COLUMNS} FROM units
WHERE id IN (SELECT bw_unit_subtree($1::bigint)) AND id < $2 AND ($4::text IS NULL OR kind = $4)
ORDER BY id DESC LIMIT $3
"""

#: $1 id, $2 root.
SELECT_UNIT = (
    f"SELECT {_COLUMNS} FROM units WHERE id = $1 AND id IN (SELECT bw_unit_subtree($2::bigint))"
)

#: $1 code, $2 name, $3 kind, $4 parent, $5 time zone; nothing returned if the code exists.
INSERT_UNIT = f"""
INSERT INTO units (code, name, kind, parent_id, timezone) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (code) DO NOTHING
RETURNING {_COLUMNS}
"""

#: $1 id, $2 root, then new values or NULL: $3 name, $4 time zone.
UPDATE_UNIT = f"""
UPDATE units SET name = coalesce($3, name), timezone = coalesce($4, timezone)
WHERE id = $1 AND id IN (SELECT bw_unit_subtree($2::bigint))
RETURNING {_COLUMNS}
"""
