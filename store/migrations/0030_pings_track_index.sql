-- Reading a case's track (``store.pings.SELECT_TRACK_PACKED``): a covering index in the track's
-- order, so a month of fixes is read by an index-only scan in (fix_time, seq, device_id) order
-- with no sort step, and from a few index pages instead of one heap page per fix wherever
-- devices' fixes interleave in the heap. It replaces pings_case_time_idx (its prefix), so the
-- number of indexes an insert maintains stays the same.
-- On native partitions the index cascades to every daily partition and to new ones; on
-- TimescaleDB it is created on every chunk and on new chunks (compressed chunks keep their own
-- segment indexes and ignore it).
CREATE INDEX pings_case_track_idx ON pings (case_id, fix_time, seq, device_id)
    INCLUDE (lon, lat, acc, src);
DROP INDEX pings_case_time_idx;
