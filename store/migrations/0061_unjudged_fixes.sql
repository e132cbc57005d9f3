-- Stored fixes not yet judged by alert evaluation (issue 17: no fix is ever left unjudged).
-- A fix is queued here in the transaction that stores it when its evaluation failed, or when
-- its device already has fixes waiting (so a device's fixes are judged in arrival order). The
-- ingesters' sweeper judges the queue under the per-device advisory locks and deletes what it
-- judged in the same transaction. ``id`` is the arrival order.
CREATE TABLE unjudged_fixes (
    id bigserial PRIMARY KEY,
    device_id text NOT NULL,
    fix_time timestamptz NOT NULL,
    seq bigint NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    UNIQUE (device_id, fix_time, seq)
);
CREATE INDEX unjudged_fixes_device ON unjudged_fixes (device_id, id);
