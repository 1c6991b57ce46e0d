"""CSV inputs: three data formats, EANs kept as text, and bad input named by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sharing.csvio import InputError, format_kwh, parse_kwh, read_data, read_members
from sharing.engine import Role

MEMBERS = (
    "ean,name,role,weight,meter_id\n"
    "000000000000000001,Zero-led,consumer,60,M1\n"
    "541449000000000002,School,consumer,40,\n"
    "541449000000000003,Wind,producer,0,WIND1\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def members(tmp_path: Path):  # type: ignore[no-untyped-def]
    return read_members(write(tmp_path, "members.csv", MEMBERS))


def test_members_keep_leading_zeros_and_parse_weights(members) -> None:  # type: ignore[no-untyped-def]
    assert members.eans[0] == "000000000000000001"
    assert members.roles == [Role.CONSUMER, Role.CONSUMER, Role.PRODUCER]
    assert members.weights_ppm().tolist() == [600_000, 400_000, 0]
    assert members.by_meter_id == {"M1": 0, "WIND1": 2}


def test_sharing_format(tmp_path: Path, members) -> None:  # type: ignore[no-untyped-def]
    rows = ["start,ean,consumption_kwh,injection_kwh"]
    for start in ("2026-03-01T00:00:00+01:00", "2026-03-01T00:15:00+01:00"):
        rows += [f"{start},000000000000000001,1.234,0", f"{start},541449000000000002,0.5,0.000",
                 f"{start},541449000000000003,0.001,2.5"]  # fmt: skip
    data = read_data(write(tmp_path, "d.csv", "\n".join(rows) + "\n"), members)
    assert data.grid.count == 2
    assert data.consumption_wh[:, 0].tolist() == [1234, 1234]
    assert data.injection_wh[:, 2].tolist() == [2500, 2500]


def test_gateway_format_maps_meter_id(tmp_path: Path, members) -> None:  # type: ignore[no-untyped-def]
    text = (
        "meter_id,ean,start,end,import_day,import_night,export_day,export_night,import_kwh,"
        "export_kwh,complete\n"
        "M1,,2026-03-01T00:00:00+01:00,x,0.1,0,0,0,0.100,0.000,true\n"
        "X,541449000000000002,2026-03-01T00:00:00+01:00,x,0,0,0,0,0.200,0.000,true\n"
        "WIND1,,2026-03-01T00:00:00+01:00,x,0,0,0.3,0,0.000,0.300,true\n"
    )
    data = read_data(write(tmp_path, "g.csv", text), members)
    assert data.consumption_wh.tolist() == [[100, 200, 0]]
    assert data.injection_wh.tolist() == [[0, 0, 300]]


def test_dso_format_semicolon_decimal_comma_registers_summed(tmp_path: Path, members) -> None:  # type: ignore[no-untyped-def]
    text = (
        "Start;EAN;Register;kWh\n"
        "2026-03-01T00:00:00+01:00;000000000000000001;1.8.1;0,100\n"
        "2026-03-01T00:00:00+01:00;000000000000000001;1.8.2;0,050\n"
        "2026-03-01T00:00:00+01:00;541449000000000002;offtake;1,5\n"
        "2026-03-01T00:00:00+01:00;541449000000000003;injection;2,25\n"
    )
    data = read_data(write(tmp_path, "dso.csv", text), members)
    assert data.consumption_wh.tolist() == [[150, 1500, 0]]
    assert data.injection_wh.tolist() == [[0, 0, 2250]]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("2026-03-01T00:00:00+01:00,541449000000000099,1,0", "d.csv:3: unknown EAN 541449000000000099"),
        ("2026-03-01T00:00:00+01:00,541449000000000002,-1,0", "d.csv:3: negative"),
        ("2026-03-01T00:00:00+01:00,541449000000000002,abc,0", "d.csv:3: not a number"),
        ("2026-03-01T00:00:00+01:00,541449000000000002,1", "d.csv:3: expected 4 fields"),
        ("2026-03-01T00:07:00+01:00,541449000000000002,1,0", "d.csv:3: start .* quarter-hour"),
        ("2026-03-01T00:00:00,541449000000000002,1,0", "d.csv:3: start .* no UTC offset"),
        ("2026-03-01T00:00:00+01:00,000000000000000001,1,0", "d.csv:3: duplicate .* line 2"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, members, line: str, message: str) -> None:  # type: ignore[no-untyped-def]
    text = "start,ean,consumption_kwh,injection_kwh\n2026-03-01T00:00:00+01:00,000000000000000001,1,0\n"
    with pytest.raises(InputError, match=message):
        read_data(write(tmp_path, "d.csv", text + line + "\n"), members)


def test_missing_quarter_hours_are_reported(tmp_path: Path, members) -> None:  # type: ignore[no-untyped-def]
    rows = ["start,ean,consumption_kwh,injection_kwh"]
    for start in ("2026-03-01T00:00:00+01:00", "2026-03-01T00:30:00+01:00"):
        rows += [f"{start},{e},1,0" for e in members.eans]
    with pytest.raises(InputError, match=r"d.csv: 3 missing quarter-hours .*00:15:00\+01:00"):
        read_data(write(tmp_path, "d.csv", "\n".join(rows) + "\n"), members)


def test_bad_members_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"m.csv:1: members header lacks weight"):
        read_members(write(tmp_path, "m.csv", "ean,name,role\n"))
    with pytest.raises(InputError, match=r"m.csv:2: role 'boss'"):
        read_members(write(tmp_path, "m.csv", "ean,name,role,weight\n541449000000000002,a,boss,1\n"))
    with pytest.raises(InputError, match=r"m.csv:2: EAN '5414' is not 18 digits"):
        read_members(write(tmp_path, "m.csv", "ean,name,role,weight\n5414,a,consumer,1\n"))


def test_kwh_text_round_trip() -> None:
    assert parse_kwh("1.2345") == 1234  # half-even to Wh
    assert parse_kwh("0,5", decimal_comma=True) == 500
    assert format_kwh(1234) == "1.234" and format_kwh(5) == "0.005"
    with pytest.raises(ValueError):
        parse_kwh("nan")
