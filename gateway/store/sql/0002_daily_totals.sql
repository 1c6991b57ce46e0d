-- Daily totals per meter and local day (the day of the quarter-hour's local start), maintained with the
-- quarter-hours in the same transaction; back-filled from the quarter-hours already stored.
CREATE TABLE daily_totals (
    meter_id TEXT NOT NULL,
    day TEXT NOT NULL,
    import_day_wh BIGINT NOT NULL,
    import_night_wh BIGINT NOT NULL,
    export_day_wh BIGINT NOT NULL,
    export_night_wh BIGINT NOT NULL,
    quarter_hours INTEGER NOT NULL,
    estimated INTEGER NOT NULL,
    PRIMARY KEY (meter_id, day)
) {without_rowid};
INSERT INTO daily_totals
    SELECT meter_id, substr(start_local, 1, 10), sum(import_day_wh), sum(import_night_wh),
           sum(export_day_wh), sum(export_night_wh), count(*), sum(estimated)
    FROM quarter_hours GROUP BY meter_id, substr(start_local, 1, 10);
