"""members_monthly.csv, written as columns, against a row-by-row writer of the same summary."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from sharing import synthetic
from sharing.cli import share
from sharing.clock import Grid, parse_start
from sharing.community import Community
from sharing.export import MEMBER_MONTHLY_HEADER
from sharing.keys import PPM
from sharing.keyspec import build_key
from sharing.kpis import percent, real_key
from sharing.kwh import format_kwh
from sharing.summary import Summary

NAMES = ["Dupont, Marie", 'Café "Chez Nous"', "Ünïcode Ŝ", "plain", "line\nbreak", " spaced "]


def row_by_row(community: Community, summary: Summary) -> str:
    """The reference: one csv.writer row per month and member, percentages from exact Fractions."""

    def pct(x: Fraction | None) -> str:
        p = percent(x, 3)
        return "" if p is None else str(p)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MEMBER_MONTHLY_HEADER)
    for g, month in enumerate(summary.months):
        keys = real_key(summary.received[g])
        for m, member in enumerate(community.members):
            cons, got = int(summary.consumption[g, m]), int(summary.received[g, m])
            writer.writerow(
                (month, member.ean, member.name, member.role.value, format_kwh(cons),
                 format_kwh(int(summary.injection[g, m])), format_kwh(got), format_kwh(cons - got),
                 format_kwh(int(summary.shared_injection[g, m])), format_kwh(int(summary.surplus[g, m])),
                 pct(keys[m]), pct(Fraction(member.weight_ppm, PPM)),
                 pct(Fraction(got, cons) if cons and member.role.receives else None))
            )  # fmt: skip
    return out.getvalue()


def test_members_monthly_matches_a_row_by_row_writer(tmp_path: Path) -> None:
    base = synthetic.community(5)
    community = Community(tuple(replace(m, name=NAMES[i % len(NAMES)]) for i, m in enumerate(base.members)))
    grid = Grid(parse_start("2026-03-20T00:00:00+01:00"), 96 * 20 - 4)  # two months, across DST
    data = synthetic.generate(community, grid, seed=5)
    data.consumption_wh[:, 0] = 0  # a member with no consumption: no coverage
    summary = share(community, data, build_key("dynamic", community), tmp_path, report=False)
    written = (tmp_path / "members_monthly.csv").read_text(encoding="utf-8")
    assert written == row_by_row(community, summary)
    rows = list(csv.DictReader(io.StringIO(written)))
    assert len(rows) == 2 * len(community.members) and rows[1]["name"] == NAMES[1]
    assert rows[0]["coverage_pct"] == ""
