-- Alerts: idempotent timeline entries, device conditions (strap, battery, power, speed, no
-- signal), the engine's last in-order fix per watch, a configuration version for the ingesters'
-- rule caches, the outbox fed by the timeline (same transaction) and announced by NOTIFY, and
-- per-unit webhooks with their deliveries.

-- A timeline entry produced by evaluation carries the key of the engine event (or device
-- transition) behind it: a redelivered batch re-evaluated appends nothing twice.
ALTER TABLE alert_events ADD COLUMN event_key text;
CREATE UNIQUE INDEX alert_events_event_key_idx ON alert_events (event_key);
CREATE INDEX alerts_open_idx ON alerts (status, escalation_level, opened_at)
    WHERE status = 'open';

-- The current episode of each device condition of a case (one row per case and kind).
CREATE TABLE device_conditions (
    case_id      bigint NOT NULL REFERENCES cases (id),
    kind         text NOT NULL,
    device_id    text NOT NULL REFERENCES devices (id),
    open         boolean NOT NULL,
    episode_key  text NOT NULL,
    since        timestamptz NOT NULL,
    changed_at   timestamptz NOT NULL,
    PRIMARY KEY (case_id, kind)
);

-- The last fix each watch was evaluated with in order (crossings between two fixes survive a
-- restart and do not depend on which ingester got the previous fix).
CREATE TABLE geofence_tracks (
    device_id  text PRIMARY KEY REFERENCES devices (id),
    t_ms       bigint NOT NULL,
    seq        bigint NOT NULL,
    lon        double precision NOT NULL,
    lat        double precision NOT NULL,
    radius_m   double precision NOT NULL
);

-- Bumped by any change to what evaluation depends on; ingesters reload their caches when it moves.
CREATE TABLE alert_config_version (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    version  bigint NOT NULL
);
INSERT INTO alert_config_version (version) VALUES (1);

CREATE FUNCTION bw_bump_alert_config() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE alert_config_version SET version = version + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER case_rules_bump AFTER INSERT OR UPDATE OR DELETE ON case_rules
    FOR EACH STATEMENT EXECUTE FUNCTION bw_bump_alert_config();
CREATE TRIGGER zones_bump AFTER INSERT OR UPDATE OR DELETE ON zones
    FOR EACH STATEMENT EXECUTE FUNCTION bw_bump_alert_config();
CREATE TRIGGER leave_permits_bump AFTER INSERT OR UPDATE OR DELETE ON leave_permits
    FOR EACH STATEMENT EXECUTE FUNCTION bw_bump_alert_config();
CREATE TRIGGER device_assignments_bump AFTER INSERT OR UPDATE OR DELETE ON device_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION bw_bump_alert_config();
CREATE TRIGGER cases_bump AFTER INSERT OR DELETE OR UPDATE OF status, supervising_unit_id,
    procuratorate_unit_id, prosecutor_user_id, timezone, no_signal_limit_s ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION bw_bump_alert_config();

-- Every timeline entry (opened, evidence, cleared, escalated, and the officers' acknowledge and
-- resolve) becomes an outbox row in the same transaction, with what the stream needs to scope it.
CREATE FUNCTION bw_alert_event_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    a alerts%ROWTYPE;
    c cases%ROWTYPE;
    unit_code text;
BEGIN
    SELECT * INTO a FROM alerts WHERE id = NEW.alert_id;
    SELECT * INTO c FROM cases WHERE id = a.case_id;
    SELECT code INTO unit_code FROM units WHERE id = a.unit_id;
    INSERT INTO outbox (unit_id, topic, payload) VALUES (a.unit_id, 'alert.' || NEW.kind,
        jsonb_build_object(
            'event', jsonb_build_object('id', NEW.id, 'kind', NEW.kind, 'at', NEW.at,
                                        'actor_id', NEW.actor_id, 'data', NEW.data),
            'alert', jsonb_build_object(
                'id', a.id, 'case_id', a.case_id, 'case_number', c.case_number,
                'rule_id', a.rule_id, 'device_id', a.device_id, 'kind', a.kind,
                'severity', a.severity, 'status', a.status, 'episode_key', a.episode_key,
                'started_at', a.started_at, 'opened_at', a.opened_at,
                'cleared_at', a.cleared_at, 'late', a.late,
                'escalation_level', a.escalation_level, 'disposition', a.disposition),
            'scope', jsonb_build_object(
                'unit_id', a.unit_id, 'unit_code', unit_code,
                'procuratorate_unit_id', c.procuratorate_unit_id,
                'prosecutor_user_id', c.prosecutor_user_id)));
    RETURN NULL;
END $$;

CREATE TRIGGER alert_events_outbox AFTER INSERT ON alert_events
    FOR EACH ROW EXECUTE FUNCTION bw_alert_event_outbox();

-- Any API process (live stream) and any drain learn of a new row at commit.
CREATE FUNCTION bw_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bw_outbox', NEW.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION bw_outbox_notify();

CREATE INDEX outbox_unit_idx ON outbox (unit_id, id);

-- Webhooks registered per unit; each outbox row of the unit is delivered to each active one.
CREATE TABLE webhooks (
    id          bigserial PRIMARY KEY,
    unit_id     bigint NOT NULL REFERENCES units (id),
    url         text NOT NULL CHECK (url ~ '^https?://'),
    secret      text NOT NULL CHECK (length(secret) >= 16),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_unit_idx ON webhooks (unit_id) WHERE active;

CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    webhook_id       bigint NOT NULL REFERENCES webhooks (id),
    outbox_id        bigint NOT NULL REFERENCES outbox (id),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (webhook_id, outbox_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
