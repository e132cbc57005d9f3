-- The evaluation state is rewritten as fixes arrive: each (case, rule) state moves its watermark
-- on every batch that has a fix of its case, and each tracked device's last fix with it. Half-empty
-- pages let those updates stay on their page without touching the primary-key index (HOT
-- updates), as for device_status (0041).
ALTER TABLE geofence_state SET (fillfactor = 50);
ALTER TABLE geofence_tracks SET (fillfactor = 50);
