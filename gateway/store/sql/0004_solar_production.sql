-- PV production per clock quarter-hour (docs/gateway.md, [solar]): what metering.solar closed from one
-- cumulative production counter (an MQTT topic or the simulator's PV), beside the meter's quarter-hours.
-- Exact Wh; a quarter-hour is stored once (a replay after a restart writes nothing twice). Flags as the
-- meter's records: estimated (a boundary interpolated), complete, reset (the counter went backwards).
CREATE TABLE solar_quarter_hours (
    start_ts BIGINT NOT NULL PRIMARY KEY,
    end_ts BIGINT NOT NULL,
    start_local TEXT NOT NULL,
    production_wh BIGINT NOT NULL,
    estimated INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    reset INTEGER NOT NULL,
    readings INTEGER NOT NULL
) {without_rowid};
