-- Cancelling a leave permit (POST /permits/{id}/cancel): who cancelled it, when and why, kept on
-- the row beside the decision (permits have no event table), and ``ended_at``, the moment the
-- effect of an approved permit cancelled during its window stopped. Evaluation and the compliance
-- report take ``coalesce(ended_at, window_end)`` as the permit's end, so the part of the window
-- before the cancellation stays covered (late fixes from it are judged as they were lived) and
-- the overdue-return check runs from the cancellation. A withdrawn request or an approved permit
-- cancelled before its window has no ``ended_at``: it never had an effect.
ALTER TABLE leave_permits
    ADD COLUMN cancelled_by bigint REFERENCES users (id),
    ADD COLUMN cancelled_at timestamptz,
    ADD COLUMN cancel_note  text,
    ADD COLUMN ended_at     timestamptz,
    ADD CONSTRAINT leave_permits_cancelled_check
        CHECK (cancelled_at IS NULL OR status = 'cancelled'),
    ADD CONSTRAINT leave_permits_ended_check
        CHECK (ended_at IS NULL
               OR (status = 'cancelled' AND ended_at > window_start AND ended_at < window_end));
