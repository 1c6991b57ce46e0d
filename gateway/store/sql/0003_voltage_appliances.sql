-- Voltage quality and appliance analysis (docs/analysis.md): what the pipeline's incremental aggregators
-- close, never the 1 s telegrams. Per phase and 10-minute window: exact sums in 0.1 V; episodes of over-voltage
-- and dips; power steps (a few hundred a day); 10-minute import power for the standby.
CREATE TABLE voltage_windows (
    meter_id TEXT NOT NULL,
    source TEXT NOT NULL,
    start_ts BIGINT NOT NULL,
    phase INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    sum_dv BIGINT NOT NULL,
    min_dv INTEGER NOT NULL,
    max_dv INTEGER NOT NULL,
    export_samples INTEGER NOT NULL,
    sags BIGINT,
    swells BIGINT,
    PRIMARY KEY (meter_id, source, start_ts, phase)
) {without_rowid};
CREATE TABLE voltage_episodes (
    meter_id TEXT NOT NULL,
    source TEXT NOT NULL,
    start_ts BIGINT NOT NULL,
    phase INTEGER NOT NULL,
    kind TEXT NOT NULL,
    end_ts BIGINT NOT NULL,
    extreme_dv INTEGER NOT NULL,
    export_s INTEGER NOT NULL,
    PRIMARY KEY (meter_id, source, start_ts, phase, kind)
) {without_rowid};
CREATE TABLE power_steps (
    meter_id TEXT NOT NULL,
    ts BIGINT NOT NULL,
    delta_w INTEGER NOT NULL,
    phases TEXT NOT NULL,
    PRIMARY KEY (meter_id, ts)
) {without_rowid};
CREATE TABLE power_windows (
    meter_id TEXT NOT NULL,
    start_ts BIGINT NOT NULL,
    samples INTEGER NOT NULL,
    import_w_sum BIGINT NOT NULL,
    export_samples INTEGER NOT NULL,
    PRIMARY KEY (meter_id, start_ts)
) {without_rowid};
