-- Core reference data: units, users, persons, cases, devices and their assignments, zones,
-- rules, leave permits. Times are timestamptz (stored UTC); money, when it comes, is integer fen.

CREATE TABLE units (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('police', 'procuratorate', 'court', 'notary')),
    parent_id   bigint REFERENCES units (id),
    timezone    text NOT NULL DEFAULT 'Asia/Shanghai',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    role          text NOT NULL
                  CHECK (role IN ('police', 'supervisor', 'prosecutor', 'admin', 'auditor')),
    unit_id       bigint NOT NULL REFERENCES units (id),
    password_hash text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE persons (
    id          bigserial PRIMARY KEY,
    full_name   text NOT NULL,
    id_number   text,
    birth_date  date,
    phone       text,
    address     text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cases (
    id                     bigserial PRIMARY KEY,
    case_number            text NOT NULL UNIQUE,
    person_id              bigint NOT NULL REFERENCES persons (id),
    measure                text NOT NULL CHECK (measure IN ('bail', 'residential_surveillance')),
    status                 text NOT NULL DEFAULT 'enrolled'
                           CHECK (status IN ('enrolled', 'active', 'suspended', 'released')),
    period_start           date,
    period_end             date,
    supervising_unit_id    bigint NOT NULL REFERENCES units (id),
    procuratorate_unit_id  bigint REFERENCES units (id),
    prosecutor_user_id     bigint REFERENCES users (id),
    timezone               text NOT NULL DEFAULT 'Asia/Shanghai',
    conditions             jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Seconds of silence after which the watchdog raises "no signal".
    no_signal_limit_s      integer NOT NULL DEFAULT 1800 CHECK (no_signal_limit_s > 0),
    released_at            timestamptz,
    legal_hold             boolean NOT NULL DEFAULT false,
    created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_supervising_unit_idx ON cases (supervising_unit_id);
CREATE INDEX cases_procuratorate_unit_idx ON cases (procuratorate_unit_id);

-- A device id is the id in its MQTT topics (bw/v1/dev/{id}/...).
CREATE TABLE devices (
    id                  text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    imei                text UNIQUE,
    model               text,
    firmware            text,
    mqtt_username       text UNIQUE,
    mqtt_password_hash  text,
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    provisioned_at      timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now()
);

-- Which case a device reports for, over time. A protected person's device (keep_away_from)
-- is assigned with role 'protected_person'.
CREATE TABLE device_assignments (
    id          bigserial PRIMARY KEY,
    device_id   text NOT NULL REFERENCES devices (id),
    case_id     bigint NOT NULL REFERENCES cases (id),
    role        text NOT NULL DEFAULT 'defendant' CHECK (role IN ('defendant', 'protected_person')),
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX device_assignments_open_idx ON device_assignments (device_id)
    WHERE valid_to IS NULL;
CREATE INDEX device_assignments_device_idx ON device_assignments (device_id, valid_from);
CREATE INDEX device_assignments_case_idx ON device_assignments (case_id, valid_from);

-- Zones are stored in WGS84 (GeoJSON, lon/lat) with the datum they were drawn in.
CREATE TABLE zones (
    id            bigserial PRIMARY KEY,
    unit_id       bigint NOT NULL REFERENCES units (id),
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('polygon', 'circle', 'corridor')),
    geometry      jsonb NOT NULL,
    radius_m      double precision CHECK (radius_m IS NULL OR radius_m > 0),
    width_m       double precision CHECK (width_m IS NULL OR width_m > 0),
    source_datum  text NOT NULL DEFAULT 'wgs84' CHECK (source_datum IN ('wgs84', 'gcj02', 'bd09')),
    source        jsonb,
    properties    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE case_rules (
    id          bigserial PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    kind        text NOT NULL,
    zone_id     bigint REFERENCES zones (id),
    grace       jsonb NOT NULL DEFAULT '{}'::jsonb,
    schedule    jsonb,
    params      jsonb NOT NULL DEFAULT '{}'::jsonb,
    severity    text CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    valid_from  timestamptz,
    valid_to    timestamptz,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_rules_case_idx ON case_rules (case_id);

CREATE TABLE leave_permits (
    id                   bigserial PRIMARY KEY,
    case_id              bigint NOT NULL REFERENCES cases (id),
    status               text NOT NULL DEFAULT 'requested'
                         CHECK (status IN ('requested', 'approved', 'rejected', 'cancelled')),
    reason               text NOT NULL,
    destination_zone_id  bigint REFERENCES zones (id),
    suspended_rule_ids   bigint[] NOT NULL DEFAULT '{}',
    window_start         timestamptz NOT NULL,
    window_end           timestamptz NOT NULL,
    requested_by         bigint REFERENCES users (id),
    decided_by           bigint REFERENCES users (id),
    decided_at           timestamptz,
    decision_note        text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (window_end > window_start)
);
CREATE INDEX leave_permits_case_idx ON leave_permits (case_id, window_start);
