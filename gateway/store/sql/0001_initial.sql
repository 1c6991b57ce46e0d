-- Quarter-hours (kept forever), events, downsampled history, prepayment state, checkpoints.
CREATE TABLE quarter_hours (
    meter_id TEXT NOT NULL,
    start_ts BIGINT NOT NULL,
    end_ts BIGINT NOT NULL,
    start_local TEXT NOT NULL,
    end_local TEXT NOT NULL,
    ean TEXT,
    import_day_wh BIGINT NOT NULL,
    import_night_wh BIGINT NOT NULL,
    export_day_wh BIGINT NOT NULL,
    export_night_wh BIGINT NOT NULL,
    complete INTEGER NOT NULL,
    estimated INTEGER NOT NULL,
    telegrams INTEGER NOT NULL,
    PRIMARY KEY (meter_id, start_ts)
) {without_rowid};
CREATE INDEX quarter_hours_start ON quarter_hours (start_ts);
CREATE TABLE events (
    id {id_pk},
    ts BIGINT NOT NULL,
    meter_id TEXT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_ts ON events (ts);
CREATE TABLE history (
    meter_id TEXT NOT NULL,
    ts BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (meter_id, ts)
) {without_rowid};
CREATE TABLE prepayment (
    meter_id TEXT PRIMARY KEY,
    updated_ts BIGINT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE checkpoints (
    name TEXT PRIMARY KEY,
    updated_ts BIGINT NOT NULL,
    state TEXT NOT NULL
);
