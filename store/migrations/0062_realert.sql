-- Re-alert after a resolution (issue 17, finding 3). An engine episode (``episode_root``) may
-- have several alerts in turn: when an officer resolves an alert while its condition goes on and
-- the condition then persists past its grace after the resolution, a new alert of the same
-- episode opens (``follows_alert_id``: the resolved one). Until then the fixes that show the
-- condition after the resolution wait in ``alert_realert_pending``; a resolved alert never gets
-- evidence again.
ALTER TABLE alerts ADD COLUMN episode_root text;
ALTER TABLE alerts ADD COLUMN follows_alert_id bigint REFERENCES alerts (id);
UPDATE alerts SET episode_root = episode_key WHERE episode_root IS NULL;

CREATE FUNCTION bw_alert_episode_root() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.episode_root := coalesce(NEW.episode_root, NEW.episode_key);
    RETURN NEW;
END $$;

CREATE TRIGGER alerts_episode_root BEFORE INSERT ON alerts
    FOR EACH ROW EXECUTE FUNCTION bw_alert_episode_root();

ALTER TABLE alerts ALTER COLUMN episode_root SET NOT NULL;
CREATE INDEX alerts_episode_root_idx ON alerts (episode_root, id);

CREATE TABLE alert_realert_pending (
    episode_root    text PRIMARY KEY,
    after_alert_id  bigint NOT NULL REFERENCES alerts (id),
    evidence        jsonb NOT NULL DEFAULT '[]'::jsonb,
    first_fix_at    timestamptz NOT NULL,
    last_fix_at     timestamptz NOT NULL
);
