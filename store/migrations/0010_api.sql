-- API: refresh tokens (rotation), owning unit of devices, case status history, unit subtrees,
-- and the retention purge log.

-- A refresh token is usable once: refreshing marks it used and issues a new one. Reusing a used
-- token (a stolen copy) is refused.
CREATE TABLE refresh_tokens (
    jti         uuid PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id, issued_at);

-- The unit that holds a device in stock (police station); NULL for devices provisioned before.
ALTER TABLE devices ADD COLUMN unit_id bigint REFERENCES units (id);
CREATE INDEX devices_unit_idx ON devices (unit_id);

-- Every status change of a case, who made it and why. Append-only.
CREATE TABLE case_events (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    at           timestamptz NOT NULL DEFAULT now(),
    actor_id     bigint REFERENCES users (id),
    from_status  text,
    to_status    text NOT NULL,
    note         text NOT NULL DEFAULT ''
);
CREATE INDEX case_events_case_idx ON case_events (case_id, id);

-- The unit that registered a person (scopes persons not yet enrolled in a case).
ALTER TABLE persons ADD COLUMN unit_id bigint REFERENCES units (id);

ALTER TABLE cases ADD COLUMN purged_at timestamptz;
CREATE INDEX cases_prosecutor_idx ON cases (prosecutor_user_id);
CREATE INDEX alerts_case_id_idx ON alerts (case_id, id);
CREATE INDEX access_log_user_idx ON access_log (user_id, at);

-- A unit and all units below it (an administrator of a city bureau manages its stations).
CREATE FUNCTION bw_unit_subtree(root bigint) RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE t(id) AS (
        SELECT root
        UNION
        SELECT u.id FROM units u JOIN t ON u.parent_id = t.id
    )
    SELECT id FROM t
$$;

-- One row per retention purge of a released case's position data.
CREATE TABLE purge_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    case_id       bigint NOT NULL REFERENCES cases (id),
    released_at   timestamptz NOT NULL,
    retention_days integer NOT NULL,
    pings_deleted bigint NOT NULL
);
CREATE INDEX purge_log_case_idx ON purge_log (case_id, at);
