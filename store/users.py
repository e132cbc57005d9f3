"""SQL for ``users`` and ``refresh_tokens``: login, the caller of each request, user admin."""

from __future__ import annotations

#: $1 username: the login candidate.
SELECT_LOGIN = """
SELECT id, username, role, unit_id, password_hash, active FROM users WHERE username = $1
"""

#: $1 id: an active user, as the caller of a request.
SELECT_ACTIVE = """
SELECT id, username, display_name, role, unit_id FROM users WHERE id = $1 AND active
"""

#: $1 password hash, $2 id: store a rehash (argon2 parameters raised since).
UPDATE_PASSWORD_HASH = "UPDATE users SET password_hash = $1 WHERE id = $2"

#: $1 jti, $2 user id, $3 expires at.
INSERT_REFRESH = "INSERT INTO refresh_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3)"

#: $1 jti, $2 user id: mark a refresh token used; returns a row only if it was unused.
USE_REFRESH = """
UPDATE refresh_tokens SET used_at = now()
WHERE jti = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > now()
RETURNING jti
"""

_USER_COLUMNS = "id, username, display_name, role, unit_id, active, created_at"

#: Users of the units in $1 (bigint[]), id below $2, newest first, at most $3; $4 role or NULL.
LIST_USERS = f"""
SELECT {_USER_COLUMNS} FROM users
WHERE unit_id = ANY($1::bigint[]) AND id < $2 AND ($4::text IS NULL OR role = $4)
ORDER BY id DESC LIMIT $3
"""

#: $1 id, $2 units (bigint[]).
SELECT_USER = f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1 AND unit_id = ANY($2::bigint[])"

#: $1 username, $2 display name, $3 role, $4 unit id, $5 password hash.
INSERT_USER = f"""
INSERT INTO users (username, display_name, role, unit_id, password_hash)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (username) DO NOTHING
RETURNING {_USER_COLUMNS}
"""

#: $1 id, $2 units, $3 active (or NULL), $4 display name (or NULL), $5 password hash (or NULL).
UPDATE_USER = f"""
UPDATE users SET active = coalesce($3, active), display_name = coalesce($4, display_name),
                 password_hash = coalesce($5, password_hash)
WHERE id = $1 AND unit_id = ANY($2::bigint[])
RETURNING {_USER_COLUMNS}
"""
