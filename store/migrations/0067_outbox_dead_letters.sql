-- An outbox row the drain cannot turn into messages (a payload that breaks its reader) is set
-- aside with the reason instead of blocking every row behind it: it stays undelivered, is no
-- longer claimed nor counted as backlog, and can be found (and, once mended, released by
-- clearing ``dead_lettered_at``) by an operator.
ALTER TABLE outbox ADD COLUMN dead_lettered_at timestamptz;
ALTER TABLE outbox ADD COLUMN dead_letter_reason text;
DROP INDEX outbox_pending_idx;
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE delivered_at IS NULL AND dead_lettered_at IS NULL;
CREATE INDEX outbox_dead_letters_idx ON outbox (dead_lettered_at) WHERE dead_lettered_at IS NOT NULL;
