-- Position fixes, natively range-partitioned by day (no TimescaleDB here). The same columns,
-- keys and helper functions exist on the TimescaleDB variant, so queries are identical.
-- The natural key (device_id, fix_time, seq) makes redelivery harmless (ON CONFLICT DO NOTHING).

CREATE TABLE pings (
    device_id    text NOT NULL,
    fix_time     timestamptz NOT NULL,
    seq          bigint NOT NULL,
    case_id      bigint,
    received_at  timestamptz NOT NULL,
    lon          double precision NOT NULL,
    lat          double precision NOT NULL,
    acc          real,
    src          text NOT NULL,
    alt          real,
    spd          real,
    hdg          real,
    batt         smallint,
    sat          smallint,
    PRIMARY KEY (device_id, fix_time, seq)
) PARTITION BY RANGE (fix_time);
CREATE INDEX pings_case_time_idx ON pings (case_id, fix_time);

-- Creates the daily partitions (UTC days) covering [from_day, to_day]; returns how many were new.
CREATE FUNCTION bw_ensure_ping_partitions(from_day date, to_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d date;
    created integer := 0;
    part text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('bw_ping_partitions'));
    FOR d IN SELECT generate_series(from_day, to_day, interval '1 day')::date LOOP
        part := format('pings_p%s', to_char(d, 'YYYYMMDD'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF pings FOR VALUES FROM (%L) TO (%L)',
                part,
                (d::timestamp AT TIME ZONE 'UTC'),
                ((d + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

-- Drops daily partitions that end before now() - keep_days; returns the dropped names.
CREATE FUNCTION bw_drop_ping_partitions(keep_days integer) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    part record;
    cutoff date := (now() AT TIME ZONE 'UTC')::date - keep_days;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('bw_ping_partitions'));
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'pings'::regclass AND c.relname ~ '^pings_p[0-9]{8}$'
          AND to_date(substr(c.relname, 8), 'YYYYMMDD') < cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part.relname);
        RETURN NEXT part.relname;
    END LOOP;
END $$;

SELECT bw_ensure_ping_partitions(
    (now() AT TIME ZONE 'UTC')::date - 1,
    (now() AT TIME ZONE 'UTC')::date + current_setting('bw.partitions_ahead_days')::integer);

-- Per-device hourly ping counts (coverage). A continuous aggregate under TimescaleDB.
CREATE VIEW pings_hourly AS
SELECT device_id,
       date_bin(interval '1 hour', fix_time, timestamptz '2000-01-01 00:00:00+00') AS bucket,
       count(*) AS n
FROM pings
GROUP BY device_id, bucket;

CREATE FUNCTION bw_pings_storage() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'native' $$;
