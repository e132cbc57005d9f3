-- Latest device status, per-rule geofence state, alerts with their timeline, the delivery
-- outbox, dead letters of rejected input, and the access log.

CREATE TABLE device_status (
    device_id      text PRIMARY KEY REFERENCES devices (id),
    last_seen_at   timestamptz,
    last_fix_time  timestamptz,
    last_lon       double precision,
    last_lat       double precision,
    last_acc       real,
    last_src       text,
    battery_pct    smallint,
    charging       boolean,
    strap_closed   boolean,
    signal         smallint,
    firmware       text,
    -- Median of (receive time - device time) over recent messages, seconds; positive = slow clock.
    clock_skew_s   double precision,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE geofence_state (
    case_id     bigint NOT NULL REFERENCES cases (id),
    rule_id     bigint NOT NULL REFERENCES case_rules (id),
    state       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, rule_id)
);

CREATE TABLE alerts (
    id                bigserial PRIMARY KEY,
    case_id           bigint NOT NULL REFERENCES cases (id),
    rule_id           bigint REFERENCES case_rules (id),
    device_id         text REFERENCES devices (id),
    unit_id           bigint NOT NULL REFERENCES units (id),
    kind              text NOT NULL,
    severity          text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    status            text NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'acknowledged', 'resolved')),
    -- Idempotency: one alert per episode (case, rule, episode start).
    episode_key       text NOT NULL UNIQUE,
    started_at        timestamptz NOT NULL,
    opened_at         timestamptz NOT NULL DEFAULT now(),
    cleared_at        timestamptz,
    late              boolean NOT NULL DEFAULT false,
    evidence          jsonb NOT NULL DEFAULT '[]'::jsonb,
    acknowledged_at   timestamptz,
    acknowledged_by   bigint REFERENCES users (id),
    resolved_at       timestamptz,
    resolved_by       bigint REFERENCES users (id),
    disposition       text CHECK (disposition IN
                      ('violation_confirmed', 'false_alarm', 'technical_fault', 'excused_by_permit')),
    resolution_note   text,
    escalation_level  smallint NOT NULL DEFAULT 0
);
CREATE INDEX alerts_case_idx ON alerts (case_id, opened_at);
CREATE INDEX alerts_unit_status_idx ON alerts (unit_id, status, opened_at);

CREATE TABLE alert_events (
    id        bigserial PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES alerts (id),
    at        timestamptz NOT NULL DEFAULT now(),
    actor_id  bigint REFERENCES users (id),
    kind      text NOT NULL,
    data      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, id);

CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    unit_id       bigint REFERENCES units (id),
    topic         text NOT NULL,
    payload       jsonb NOT NULL,
    delivered_at  timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE delivered_at IS NULL;

CREATE TABLE dead_letters (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    topic        text NOT NULL,
    payload      bytea NOT NULL,
    reasons      text[] NOT NULL,
    device_id    text,
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX dead_letters_received_idx ON dead_letters (received_at);

-- Who looked at whose data, when, over which range, and why. Append-only.
CREATE TABLE access_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    principal   text NOT NULL,
    user_id     bigint REFERENCES users (id),
    case_id     bigint REFERENCES cases (id),
    action      text NOT NULL,
    range_from  timestamptz,
    range_to    timestamptz,
    purpose     text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX access_log_case_idx ON access_log (case_id, at);
