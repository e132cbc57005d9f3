-- Position fixes as a TimescaleDB hypertable: 1-day chunks, compression segmented by device,
-- compression and retention policies. Same columns, keys and helper functions as the native
-- variant, so queries are identical.

CREATE EXTENSION IF NOT EXISTS timescaledb;

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
);
CREATE INDEX pings_case_time_idx ON pings (case_id, fix_time);

SELECT create_hypertable('pings', by_range('fix_time', INTERVAL '1 day'));

ALTER TABLE pings SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id',
    timescaledb.compress_orderby = 'fix_time DESC, seq DESC'
);
SELECT add_compression_policy(
    'pings', make_interval(days => current_setting('bw.compress_after_days')::integer));
SELECT add_retention_policy(
    'pings', make_interval(days => current_setting('bw.retention_days')::integer));

-- Chunks are created by TimescaleDB on insert; kept for parity with the native variant.
CREATE FUNCTION bw_ensure_ping_partitions(from_day date, to_day date) RETURNS integer
LANGUAGE sql AS $$ SELECT 0 $$;

-- Retention is TimescaleDB's policy job; kept for parity with the native variant.
CREATE FUNCTION bw_drop_ping_partitions(keep_days integer) RETURNS SETOF text
LANGUAGE sql AS $$ SELECT NULL::text WHERE false $$;

-- Per-device hourly ping counts (coverage), kept up to date by a refresh policy; buckets newer
-- than the last refresh come from the raw chunks (real-time aggregation), so counts match the
-- native view. No start_offset: watches upload buffered fixes days late (ingest accepts them
-- up to its max age), and a bounded refresh window would never materialize those hours. Only
-- invalidated ranges are recomputed, so an unbounded window stays cheap.
CREATE MATERIALIZED VIEW pings_hourly WITH (timescaledb.continuous) AS
SELECT device_id,
       time_bucket(INTERVAL '1 hour', fix_time) AS bucket,
       count(*) AS n
FROM pings
GROUP BY device_id, time_bucket(INTERVAL '1 hour', fix_time)
WITH NO DATA;
SELECT add_continuous_aggregate_policy('pings_hourly',
    start_offset => NULL, end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '30 minutes');
ALTER MATERIALIZED VIEW pings_hourly SET (timescaledb.materialized_only = false);
-- Dropping raw chunks leaves materialized counts in place: expire them with the same retention.
SELECT add_retention_policy(
    'pings_hourly', make_interval(days => current_setting('bw.retention_days')::integer));

CREATE FUNCTION bw_pings_storage() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'timescaledb' $$;
