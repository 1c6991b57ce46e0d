-- The hub's first schema: readings in, allocations out, keyed by (EAN, quarter-hour start in UTC seconds).
-- IF NOT EXISTS: a hub database made before the schema was versioned already holds exactly this; opening
-- it records version 1 and changes nothing.
CREATE TABLE IF NOT EXISTS sharing_readings (
    ean TEXT NOT NULL, start_ts BIGINT NOT NULL,
    consumption_wh BIGINT NOT NULL, injection_wh BIGINT NOT NULL,
    PRIMARY KEY (ean, start_ts));
CREATE TABLE IF NOT EXISTS sharing_allocations (
    ean TEXT NOT NULL, start_ts BIGINT NOT NULL,
    shared_wh BIGINT NOT NULL, residual_wh BIGINT NOT NULL, surplus_wh BIGINT NOT NULL,
    provisional INTEGER NOT NULL,
    PRIMARY KEY (ean, start_ts));
-- every lookup but the upsert is by quarter-hour: without these, each message scanned whole tables
-- (a year of a 12-member community is 420,000 rows each)
CREATE INDEX IF NOT EXISTS sharing_readings_start ON sharing_readings (start_ts);
CREATE INDEX IF NOT EXISTS sharing_allocations_start ON sharing_allocations (start_ts);
