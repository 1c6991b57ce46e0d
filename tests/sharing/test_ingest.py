"""Columnar ingest: the Fluvius export, DST days, Parquet in and out, month streaming equal to a
whole-period run, and validation that counts and names bad rows without writing anything."""

from __future__ import annotations

import csv
import filecmp
import json
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest

from gateway.cli import main
from sharing import synthetic
from sharing.assemble import OutOfOrder, chunk_bounds, chunk_key, chunk_keys, members_of, read_data, weeks
from sharing.cli import share as share_slices
from sharing.clock import DEFAULT_TZ, Grid, parse_start
from sharing.community import Dataset
from sharing.csvio import InputError, read_members
from sharing.export import KWH_TABLE_WH, NO_QUOTES, kwh
from sharing.ingest import Members, Problems, iter_quarter_hours, load_quarter_hours
from sharing.keyspec import build_key
from sharing.kwh import format_kwh

# A copy of ../shared/dso/fluvius_quarter_hours_sample.csv (exact bytes), so a fresh clone is self-contained.
FLUVIUS_SAMPLE = Path(__file__).parent / "data" / "fluvius_quarter_hours_sample.csv"
FLUVIUS_HEADER = (
    "Van Datum;Van Tijdstip;Tot Datum;Tot Tijdstip;EAN;Meter;Metertype;Register;Volume;Eenheid;"
    "Validatiestatus\r\n"
)
EAN = "541448800000000017"


def fluvius_row(day: str, time: str, register: str, volume: str, status: str = "Gevalideerd") -> str:
    return f'{day};{time};{day};x;="{EAN}";1SAG1100000017;Digitale Meter;{register};{volume};kWh;{status}\r\n'


def fluvius_day(day: str, times: list[str]) -> str:
    rows = [FLUVIUS_HEADER]
    for time in times:
        rows += [fluvius_row(day, time, "Afname Dag", "0,010"),
                 fluvius_row(day, time, "Afname Nacht", "0,125"),
                 fluvius_row(day, time, "Injectie Dag", "0,000"),
                 fluvius_row(day, time, "Injectie Nacht", "", "Geen verbruik")]  # fmt: skip
    return "".join(rows)


def quarter_times(hours: list[int]) -> list[str]:
    return [f"{h:02d}:{m:02d}:00" for h in hours for m in (0, 15, 30, 45)]


@pytest.fixture
def fluvius_members(tmp_path: Path) -> Path:
    path = tmp_path / "members.csv"
    path.write_text(f"ean,name,role,weight\n{EAN},Household,consumer,100\n")
    return path


def test_fluvius_sample_is_read_with_its_lines(fluvius_members: Path) -> None:
    community = read_members(fluvius_members)
    frame = load_quarter_hours(FLUVIUS_SAMPLE, members=Members(dict(community.by_ean)))
    assert frame.height == 80 and frame["line"].to_list()[:2] == [2, 3]
    assert frame["ean"].unique().to_list() == [EAN]
    data = read_data(FLUVIUS_SAMPLE, community, tz=DEFAULT_TZ)
    assert data.grid.count == 20  # 00:00-06:00 local without the skipped 02:xx hour
    assert data.grid.iso(0) == "2026-03-29T00:00:00+01:00" and data.grid.iso(8) == "2026-03-29T03:00:00+02:00"
    assert data.consumption_wh[:2, 0].tolist() == [125, 148]


def test_fluvius_autumn_day_has_100_quarter_hours(tmp_path: Path, fluvius_members: Path) -> None:
    path = tmp_path / "fluvius.csv"
    times = quarter_times(list(range(0, 3))) + quarter_times(list(range(2, 24)))  # 02:xx twice
    path.write_bytes(fluvius_day("25-10-2026", times).encode("cp1252"))
    data = read_data(path, read_members(fluvius_members), tz=DEFAULT_TZ)
    assert data.grid.count == 100
    assert (
        data.grid.iso(8) == "2026-10-25T02:00:00+02:00" and data.grid.iso(12) == "2026-10-25T02:00:00+01:00"
    )
    assert data.consumption_wh.sum() == 100 * 135 and data.injection_wh.sum() == 0


def test_fluvius_spring_day_has_92_and_refuses_a_time_that_does_not_exist(
    tmp_path: Path, fluvius_members: Path
) -> None:
    path = tmp_path / "fluvius.csv"
    hours = [h for h in range(24) if h != 2]
    path.write_text(fluvius_day("29-03-2026", quarter_times(hours)))
    assert read_data(path, read_members(fluvius_members), tz=DEFAULT_TZ).grid.count == 92
    path.write_text(fluvius_day("29-03-2026", [*quarter_times(hours), "02:15:00"]))
    with pytest.raises(InputError, match=r"fluvius.csv:370:12: this local time does not exist"):
        read_data(path, read_members(fluvius_members), tz=DEFAULT_TZ)


def test_fluvius_empty_volume_without_geen_verbruik_is_named(tmp_path: Path, fluvius_members: Path) -> None:
    path = tmp_path / "fluvius.csv"
    text = fluvius_day("02-03-2026", ["00:00:00"]).replace("Geen verbruik", "Gevalideerd")
    path.write_text(text)
    with pytest.raises(InputError, match=r"fluvius.csv:5:\d+: empty kWh value"):
        read_data(path, read_members(fluvius_members), tz=DEFAULT_TZ)


@pytest.fixture(scope="module")
def year_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Three months of a small community: members, time-ordered CSV, and the same rows by EAN."""
    folder = tmp_path_factory.mktemp("months")
    comm = synthetic.community(5)
    grid = Grid(parse_start("2026-01-15T00:00:00+01:00"), 96 * 80 - 4)  # to April 5th, across DST
    data = synthetic.generate(comm, grid, seed=11)
    synthetic.write_members_csv(folder / "members.csv", comm)
    synthetic.write_data_csv(folder / "data.csv", comm, data)
    lines = (folder / "data.csv").read_text().splitlines(keepends=True)
    by_ean = sorted(lines[1:], key=lambda line: line.split(",")[1])
    (folder / "by_ean.csv").write_text(lines[0] + "".join(by_ean))
    return folder / "members.csv", folder / "data.csv", folder / "by_ean.csv"


def share(members: Path, data: Path, out: Path, *extra: str) -> int:
    return main(["share", "--members", str(members), "--data", str(data), "--key", "multi-round",
                 "--rounds", "40:fixed,60:pro_rata,0:pro_rata", "--out", str(out), "--peaks", "20",
                 *extra])  # fmt: skip


def same_outputs(a: Path, b: Path) -> None:
    names = ["allocation.csv", "community_quarter_hours.csv", "members_monthly.csv", "community_monthly.csv",
             "kpis.json", "report.html"]  # fmt: skip
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert mismatch == [] and errors == []
    members = sorted(p.name for p in (a / "members").iterdir())
    assert members == sorted(p.name for p in (b / "members").iterdir()) and len(members) == 7
    assert filecmp.cmpfiles(a / "members", b / "members", members, shallow=False)[1] == []


def test_month_streaming_equals_whole_period_and_unordered_input(
    year_files: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members, data, by_ean = year_files
    assert share(members, data, tmp_path / "stream") == 0
    assert "not in time order" not in capsys.readouterr().err
    # --size-* reads the whole period at once (then sizes on it): the same outputs, Wh for Wh
    assert share(members, data, tmp_path / "whole", "--size-pv", "0") == 0
    same_outputs(tmp_path / "stream", tmp_path / "whole")
    assert share(members, by_ean, tmp_path / "by_ean") == 0
    same_outputs(tmp_path / "stream", tmp_path / "by_ean")
    rows = list(csv.DictReader((tmp_path / "stream" / "community_monthly.csv").open()))
    assert [r["month"] for r in rows] == ["2026-01", "2026-02", "2026-03", "2026-04"]


def test_bounds_inside_weeks_stream_equal_to_the_whole_period(
    year_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    members, data, _ = year_files
    bounds = ("--from", "2026-01-17T06:00:00+01:00", "--to", "2026-02-10T13:15:00+01:00")
    assert share(members, data, tmp_path / "stream", *bounds) == 0
    assert share(members, data, tmp_path / "whole", *bounds, "--size-pv", "0") == 0
    same_outputs(tmp_path / "stream", tmp_path / "whole")
    kpis = json.loads((tmp_path / "stream" / "kpis.json").read_text())
    assert (kpis["from"], kpis["to"]) == (bounds[1], bounds[3])
    assert kpis["quarter_hours"] == 24 * 96 + 29  # January 17th 06:00 to February 10th 13:15


def test_chunks_are_weeks_of_each_local_month_from_midnight_across_dst() -> None:
    zone = ZoneInfo(DEFAULT_TZ)
    first = chunk_key(int(datetime(2026, 1, 1, tzinfo=zone).timestamp()), DEFAULT_TZ)
    last = chunk_key(int(datetime(2026, 12, 31, 23, 45, tzinfo=zone).timestamp()), DEFAULT_TZ)
    bounds = [chunk_bounds(key, DEFAULT_TZ) for key in chunk_keys(first, last, DEFAULT_TZ)]
    starts = [datetime.fromtimestamp(start, zone) for start, _ in bounds]
    assert all(s.day in (1, 8, 15, 22, 29) and (s.hour, s.minute) == (0, 0) for s in starts)
    assert all(end == nxt for (_, end), (nxt, _) in pairwise(bounds))  # contiguous
    assert sum(end - start for start, end in bounds) // 900 == 365 * 96  # the year, nothing twice
    sizes = {
        s.strftime("%m-%d"): (end - start) // 900 for s, (start, end) in zip(starts, bounds, strict=True)
    }
    assert (sizes["03-29"], sizes["10-22"], sizes["02-22"], sizes["10-29"]) == (
        3 * 96 - 4,
        7 * 96 + 4,
        7 * 96,
        3 * 96,
    )
    assert len(bounds) == 12 * 4 + 11  # five weeks in every month but February


def test_small_batches_stream_weeks_and_notice_unordered_rows(
    year_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    members, data, by_ean = year_files
    community = read_members(members)
    key = build_key("dynamic", community)

    def slices(path: Path, hold_all: bool) -> Iterator[Dataset]:
        problems = Problems()
        frames = iter_quarter_hours(
            path, members=members_of(community), problems=problems, chunk_bytes=1 << 16
        )
        yield from weeks(community, [path], frames, problems, start_ts=None, end_ts=None, tz=DEFAULT_TZ,
                          hold_all=hold_all)  # fmt: skip
        assert not problems

    handed = [s.grid.count for s in slices(data, hold_all=False)]
    # the slices are weeks of each month from its 1st: January from the 15th, March loses an hour on the 29th
    assert handed == [672, 672, 3 * 96, *[672] * 4, *[672] * 4, 3 * 96 - 4, 4 * 96]
    share_slices(community, slices(data, hold_all=False), key, tmp_path / "stream")
    share_slices(community, [read_data(data, community, tz=DEFAULT_TZ)], key, tmp_path / "whole")
    same_outputs(tmp_path / "stream", tmp_path / "whole")
    with pytest.raises(OutOfOrder):
        list(slices(by_ean, hold_all=False))
    share_slices(community, slices(by_ean, hold_all=True), key, tmp_path / "by_ean")
    same_outputs(tmp_path / "stream", tmp_path / "by_ean")


def test_parquet_out_and_in(year_files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    members, data, _ = year_files
    assert share(members, data, tmp_path / "csv", "--parquet", "--no-member-files") == 0
    parquet = sorted((tmp_path / "csv" / "parquet").iterdir())
    # one file per piece: each month as read (January from the 15th, April to the 4th) cut into weeks
    days = {"01": (15, 22, 29), "02": (1, 8, 15, 22), "03": (1, 8, 15, 22, 29), "04": (1,)}
    assert [p.name[:21] for p in parquet] == [
        f"allocation-2026-{m}-{d:02d}" for m, ds in days.items() for d in ds
    ]
    assert share(members, tmp_path / "csv" / "parquet", tmp_path / "pq", "--no-member-files") == 0
    for name in ("allocation.csv", "kpis.json", "members_monthly.csv"):
        assert filecmp.cmp(tmp_path / "csv" / name, tmp_path / "pq" / name, shallow=False), name


def test_validation_counts_and_names_bad_rows_and_writes_nothing(
    year_files: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members, data, _ = year_files
    lines = data.read_text().splitlines(keepends=True)
    bad = lines[:]
    bad[10:10] = lines[3:6]  # three duplicated rows (lines 11-13 repeat lines 4-6)
    bad[2000] = bad[2000].replace("541449", "999999", 1)  # an EAN not in the members file
    bad[4000] = bad[4000].rsplit(",", 1)[0] + ",1e3\n"
    (tmp_path / "bad.csv").write_text("".join(bad))
    out = tmp_path / "out"
    assert share(members, tmp_path / "bad.csv", out) == 2
    err = capsys.readouterr().err
    assert re.search(r"bad.csv: \d+ problem\(s\) in the data:", err)
    assert re.search(r"bad.csv:11:1: duplicate quarter-hour \S+ for EAN \d+ \(first at \S+bad.csv:4:1\)", err)
    assert re.search(r"bad.csv:2001:27: unknown EAN", err)
    assert re.search(r"bad.csv:4001:\d+: not a plain decimal number", err)
    assert "missing quarter-hours" in err and "Traceback" not in err
    assert not (out / "allocation.csv").exists() and not (out / ".partial").exists()


def test_a_week_without_any_row_is_reported_missing_not_skipped(
    year_files: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members, data, _ = year_files
    lines = data.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(("2026-02-08", "2026-02-09", "2026-02-1"))]
    assert len(lines) - len(kept) == 12 * 96 * 7  # February 8-19: the whole chunk of the 8th and more
    (tmp_path / "gap.csv").write_text("".join(kept))
    assert share(members, tmp_path / "gap.csv", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "8064 rows in all: missing quarter-hours" in err
    assert "gap.csv: missing quarter-hour 2026-02-08T00:00:00+01:00 for EAN" in err


def test_a_failed_run_leaves_the_previous_outputs(
    year_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    members, data, _ = year_files
    out = tmp_path / "out"
    assert share(members, data, out, "--no-member-files") == 0
    before = (out / "allocation.csv").read_bytes()
    broken = tmp_path / "broken.csv"
    shutil.copy(data, broken)
    with broken.open("a") as handle:
        handle.write("2026-03-25T00:00:00+01:00,541449000000000001,-1,0\n")
    assert share(members, broken, out, "--no-member-files") == 2
    assert (out / "allocation.csv").read_bytes() == before


@pytest.mark.parametrize(
    "values",
    [
        np.arange(0, KWH_TABLE_WH),  # every value of the table
        np.array([0, KWH_TABLE_WH - 1, KWH_TABLE_WH]),  # one past the table: the Decimal column
        np.concatenate([np.arange(-1000, 20_000_001, 97), np.array([2**40, 10**12 - 1, 999_999_999_999])]),
    ],
    ids=["table", "table-edge", "decimal"],
)
def test_kwh_columns_write_the_exact_kwh_text(values: npt.NDArray[np.int64]) -> None:
    """The vectorised writer's kWh text equals format_kwh, whether it comes from the table of small
    values or from a Decimal (negative or large values), alone or mixed in one column."""
    text = pl.DataFrame({"x": kwh(values)}).write_csv(include_header=False, quote_style=NO_QUOTES)
    assert text.splitlines() == [format_kwh(int(v)) for v in values]


def test_one_fluvius_export_per_member(tmp_path: Path) -> None:
    members = tmp_path / "members.csv"
    other = "541448800000000025"
    members.write_text(f"ean,name,role,weight\n{EAN},A,consumer,50\n{other},B,prosumer,50\n")
    hours = [h for h in range(24) if h != 2]
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(fluvius_day("29-03-2026", quarter_times(hours)))
    second.write_text(fluvius_day("29-03-2026", quarter_times(hours)).replace(EAN, other).replace(
        "Injectie Dag;0,000", "Injectie Dag;0,050"))  # fmt: skip
    out = tmp_path / "out"
    assert main(["share", "--members", str(members), "--data", str(first), "--data", str(second),
                 "--key", "dynamic", "--out", str(out)]) == 0  # fmt: skip
    rows = list(csv.DictReader((out / "allocation.csv").open()))
    assert len(rows) == 92 * 2 and {r["ean"] for r in rows} == {EAN, other}
    assert sum(int(r["shared_kwh"].replace(".", "")) for r in rows) > 0


def test_a_batch_of_quarter_hours_already_filled_is_reported(
    year_files: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two Parquet files with the same rows: the second one's batch is a run of consecutive cells
    (the copy path's case) that were all filled before, so each of its rows is a duplicate."""
    members, data, _ = year_files
    rows = pl.read_csv(data, schema_overrides={"ean": pl.String}).head(7 * 96)  # a day of 7 members
    frame = rows.select(
        start=pl.col("start").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z"),
        ean="ean",
        consumption_wh=(pl.col("consumption_kwh") * 1000).round().cast(pl.Int64),
        injection_wh=(pl.col("injection_kwh") * 1000).round().cast(pl.Int64),
    )
    folder = tmp_path / "twice"
    folder.mkdir()
    frame.write_parquet(folder / "a.parquet")
    frame.write_parquet(folder / "b.parquet")
    assert share(members, folder / "a.parquet", tmp_path / "once", "--no-member-files") == 0
    assert share(members, folder, tmp_path / "out", "--no-member-files") == 2
    err = capsys.readouterr().err
    assert f"{7 * 96} rows in all: duplicate quarter-hours (never summed)" in err, err
    assert re.search(
        r"b.parquet:1:1: duplicate quarter-hour \S+ for EAN \d+ \(first at \S+a.parquet:1:1\)", err
    ), err
