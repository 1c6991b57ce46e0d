"""Community mode: many members' quarter-hour series in the sharing CSV contract, vectorised with numpy.

Strategy: each member is a seeded mix of profiles evaluated once over the whole period with
`PowerProfile.series_w(start, count, 900)`; consumption and injection per quarter-hour are the positive and
negative parts of load minus own PV, in exact Wh (rounded once), written as kWh with 3 decimals. Producers
(a PV park of `pv_kwp`, a wind turbine of `wind_kw`) only inject. Files: `members.csv` (`ean,name,role,
weight`; consumers share 100 % equally, producers 0) and `data.csv` (`start,ean,consumption_kwh,
injection_kwh`, one row per EAN and quarter-hour, ISO start with offset, EANs as 18-digit text).
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from . import calendars
from .profiles import hash_u01, make_profile

QH = 900


def _ean(i: int) -> str:
    return f"5414490000{i:08d}"


def community_members(n: int, pv_kwp: float, wind_kw: float, seed: int) -> list[dict[str, object]]:
    """The member list: n consumers/prosumers (households, some with heat pump/EV/PV, a hospital-like
    site every 10th member), then the producers."""
    members: list[dict[str, object]] = []
    u = hash_u01(seed, 990, np.arange(max(n, 1) * 4, dtype=np.int64)).reshape(-1, 4)
    for i in range(n):
        if i % 10 == 9:
            kinds = [("hospital", {"peak_kw": 300.0 + 600.0 * float(u[i, 0])})]
            name, role = f"site-{i + 1}", "consumer"
        else:
            kinds = [("household", {"scale": 0.7 + 0.7 * float(u[i, 0])})]
            if u[i, 1] < 0.3:
                kinds.append(("heat_pump", {}))
            if u[i, 2] < 0.2:
                kinds.append(("ev", {}))
            role = "consumer"
            if u[i, 3] < 0.35:
                kinds.append(("pv", {"kwp": round(3.0 + 5.0 * float(u[i, 3]), 1)}))
                role = "prosumer"
            name = f"home-{i + 1}"
        members.append({"ean": _ean(i + 1), "name": name, "role": role, "kinds": kinds})
    k = n + 1
    if pv_kwp > 0:
        members.append(
            {"ean": _ean(k), "name": "pv-park", "role": "producer", "kinds": [("pv", {"kwp": pv_kwp})]}
        )
        k += 1
    if wind_kw > 0:
        members.append(
            {"ean": _ean(k), "name": "wind", "role": "producer", "kinds": [("wind", {"rated_kw": wind_kw})]}
        )
    consumers = [m for m in members if m["role"] != "producer"]
    for m in members:
        m["weight"] = round(100.0 / len(consumers), 4) if m["role"] != "producer" and consumers else 0
    return members


def member_series_wh(
    member: dict[str, object], start_ts: int, count: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(consumption Wh, injection Wh) per quarter-hour, integer arrays."""
    net = np.zeros(count)
    kinds: list[tuple[str, dict[str, float]]] = member["kinds"]  # type: ignore[assignment]
    for j, (kind, params) in enumerate(kinds):
        w = make_profile(kind, seed=seed * 1000 + int(str(member["ean"])[-6:]) * 7 + j, **params).series_w(
            start_ts, count, QH
        )
        net += -w if kind in ("pv", "wind") else w
    wh = np.rint(net * QH / 3600.0).astype(np.int64)
    return np.maximum(wh, 0), np.maximum(-wh, 0)


def write_community(
    out_dir: str | Path,
    n: int,
    pv_kwp: float,
    wind_kw: float,
    start: datetime,
    duration_s: int,
    seed: int = 0,
) -> tuple[Path, Path, int]:
    """Write members.csv and data.csv; returns their paths and the number of data rows."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start_ts = int(start.timestamp())
    start_ts -= start_ts % QH
    count = duration_s // QH
    members = community_members(n, pv_kwp, wind_kw, seed)
    members_path = out / "members.csv"
    with members_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ean", "name", "role", "weight"])
        for m in members:
            w.writerow([m["ean"], m["name"], m["role"], m["weight"]])
    starts = [
        datetime.fromtimestamp(start_ts + q * QH, UTC).astimezone(calendars.ZONE).isoformat()
        for q in range(count)
    ]
    data_path = out / "data.csv"
    rows = 0
    with data_path.open("w") as f:
        f.write("start,ean,consumption_kwh,injection_kwh\n")
        series = []
        for m in members:
            c, i = member_series_wh(m, start_ts, count, seed)
            series.append((str(m["ean"]), c.tolist(), i.tolist()))
        for q in range(count):
            s = starts[q]
            f.write(
                "".join(
                    f"{s},{ean},{c[q] // 1000}.{c[q] % 1000:03d},{i[q] // 1000}.{i[q] % 1000:03d}\n"
                    for ean, c, i in series
                )
            )
            rows += len(series)
    return members_path, data_path, rows
