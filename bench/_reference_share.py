"""The reference for bench/share_e2e.py: a plain polars script that reads the contract CSV, pivots it
to (quarter-hours x members) and applies the dynamic key (pro rata to consumption), nothing else:
no validation, no outputs but the totals it prints. Usage: _reference_share.py MEMBERS.csv DATA.csv
"""

import sys

import numpy as np
import polars as pl

members = pl.read_csv(sys.argv[1], schema_overrides={"ean": pl.String})
data = pl.read_csv(sys.argv[2], schema_overrides={"ean": pl.String}).with_columns(
    (pl.col("consumption_kwh") * 1000).round().cast(pl.Int64).alias("c"),
    (pl.col("injection_kwh") * 1000).round().cast(pl.Int64).alias("i"),
)
cons = data.pivot("ean", index="start", values="c", aggregate_function="sum").sort("start")
inj = data.pivot("ean", index="start", values="i", aggregate_function="sum").sort("start")
eans = members["ean"].to_list()
receives = (members["role"] != "producer").to_numpy()
c = cons.select(eans).to_numpy() * receives
pool = inj.select(eans).to_numpy().sum(axis=1)
total = c.sum(axis=1)
got = np.minimum(c * pool[:, None] // np.where(total > 0, total, 1)[:, None], c)
print(f"reference: {c.shape[0]} quarter-hours x {c.shape[1]} members, shared {got.sum() / 1000:.3f} kWh")
