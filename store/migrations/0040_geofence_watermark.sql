-- The watermark (latest fix time evaluated in order, epoch ms) of a (case, rule) state, kept
-- beside its json: in the steady state a batch moves only the watermarks, and then writes one
-- bigint per state instead of re-encoding the whole state. When set, it overrides the json's.
ALTER TABLE geofence_state ADD COLUMN watermark_ms bigint;
