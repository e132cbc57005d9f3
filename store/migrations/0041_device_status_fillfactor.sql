-- device_status is rewritten on every batch for every device heard from (one row per watch,
-- updated ~once a minute each). With free space left on each page the update is HOT: the new
-- row version goes on the same page and the primary-key index is not touched, which cuts the
-- database's cost per fix. Pages written from now on keep half their space free; existing pages
-- adopt it when the table is next rewritten (VACUUM FULL, or naturally as rows move).
ALTER TABLE device_status SET (fillfactor = 50);
