-- Failed logins per throttling key ("user:<name>", "addr:<client address>"), shared by every API
-- process so that N processes still allow only ``BW_API__LOGIN_MAX_FAILURES`` per key per window
-- (``api.auth.ratelimit``). A row is written when an attempt is admitted (so concurrent attempts
-- count too) and removed again if the attempt succeeds. Rows older than the window are purged
-- whenever an attempt is admitted, so the table holds at most one window of failures.
-- Unlogged: the counts are transient; a crash forgives the failures of the last window at most,
-- and admitting an attempt writes no WAL.
CREATE UNLOGGED TABLE login_failures (
    id         bigserial PRIMARY KEY,
    key        text NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_idx ON login_failures (key, failed_at);
CREATE INDEX login_failures_failed_at_idx ON login_failures (failed_at);
