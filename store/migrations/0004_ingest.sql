-- Ingest: device status and event history, dead-letter idempotency, ordering of status updates.

-- A dead letter is stored once per (topic, payload bytes, element): a QoS 1 redelivery or a watch
-- re-sending the same bad upload does not double it. The key is sha256(topic NUL payload NUL index).
ALTER TABLE dead_letters ADD COLUMN dedup_key bytea;
CREATE UNIQUE INDEX dead_letters_dedup_idx ON dead_letters (dedup_key);
CREATE INDEX dead_letters_device_idx ON dead_letters (device_id, received_at);

-- Device time of the newest status applied to device_status (a late status never overwrites it).
ALTER TABLE device_status ADD COLUMN last_status_at timestamptz;
COMMENT ON COLUMN device_status.clock_skew_s IS
    'Seconds receive time minus device time, the minimum over the device''s recent messages '
    '(network delay included, buffered uploads excluded by the minimum); positive = slow clock.';

-- Every .../status message (and OwnTracks battery), by device time; redelivery is stored once.
CREATE TABLE device_status_history (
    device_id     text NOT NULL REFERENCES devices (id),
    at            timestamptz NOT NULL,
    received_at   timestamptz NOT NULL,
    battery_pct   smallint,
    charging      boolean,
    strap_closed  boolean,
    signal        smallint,
    firmware      text,
    PRIMARY KEY (device_id, at)
);

-- Every .../event message (strap_open, case_open, sos, power_off, low_battery) and OwnTracks
-- transition / lwt / known-but-ignored messages, by device time; redelivery is stored once.
CREATE TABLE device_events (
    device_id    text NOT NULL REFERENCES devices (id),
    at           timestamptz NOT NULL,
    kind         text NOT NULL,
    received_at  timestamptz NOT NULL,
    source       text NOT NULL CHECK (source IN ('v1', 'owntracks')),
    data         jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (device_id, kind, at)
);
CREATE INDEX device_events_at_idx ON device_events (at);
