-- Replay of dead letters (issue 17, finding 10): when an assignment's start is set back, the
-- device's fixes dead-lettered as `unassigned_device` inside the new window are marked for
-- replay; an ingester claims them (a lease, taken with FOR UPDATE SKIP LOCKED), feeds their topic
-- and payload through the ingest pipeline with their original receive time, and records the
-- outcome in the same transaction as the fixes: `stored`, or `rejected` with the new reasons.
ALTER TABLE dead_letters
    ADD COLUMN replay_requested_at  timestamptz,
    ADD COLUMN replay_claimed_until timestamptz,
    ADD COLUMN replayed_at          timestamptz,
    ADD COLUMN replay_result        text CHECK (replay_result IN ('stored', 'rejected')),
    ADD COLUMN replay_attempts      integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN dead_letters.replay_claimed_until IS
    'Lease of the ingester replaying the row; after it passes another ingester may take it.';
CREATE INDEX dead_letters_replay_idx ON dead_letters (id)
    WHERE replay_requested_at IS NOT NULL AND replayed_at IS NULL;
