"""CSV inputs: three data formats, EANs kept as text, and bad input named by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sharing.assemble import read_data
from sharing.clock import DEFAULT_TZ
from sharing.community import Community
from sharing.csvio import InputError, read_members
from sharing.engine import Role
from sharing.kwh import format_kwh, parse_kwh

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
def members(tmp_path: Path) -> Community:
    return read_members(write(tmp_path, "members.csv", MEMBERS))


def test_members_keep_leading_zeros_and_parse_weights(members: Community) -> None:
    assert members.eans[0] == "000000000000000001"
    assert members.roles == [Role.CONSUMER, Role.CONSUMER, Role.PRODUCER]
    assert members.weights_ppm().tolist() == [600_000, 400_000, 0]
    assert members.by_meter_id == {"M1": 0, "WIND1": 2}


def test_sharing_format(tmp_path: Path, members: Community) -> None:
    rows = ["start,ean,consumption_kwh,injection_kwh"]
    for start in ("2026-03-01T00:00:00+01:00", "2026-03-01T00:15:00+01:00"):
        rows += [f"{start},000000000000000001,1.234,0", f"{start},541449000000000002,0.5,0.000",
                 f"{start},541449000000000003,0.001,2.5"]  # fmt: skip
    data = read_data(write(tmp_path, "d.csv", "\n".join(rows) + "\n"), members, tz=DEFAULT_TZ)
    assert data.grid.count == 2
    assert data.consumption_wh[:, 0].tolist() == [1234, 1234]
    assert data.injection_wh[:, 2].tolist() == [2500, 2500]


def test_gateway_format_maps_meter_id(tmp_path: Path, members: Community) -> None:
    text = (
        "meter_id,ean,start,end,import_day,import_night,export_day,export_night,import_kwh,"
        "export_kwh,complete\n"
        "M1,,2026-03-01T00:00:00+01:00,x,0.1,0,0,0,0.100,0.000,true\n"
        "X,541449000000000002,2026-03-01T00:00:00+01:00,x,0,0,0,0,0.200,0.000,true\n"
        "WIND1,,2026-03-01T00:00:00+01:00,x,0,0,0.3,0,0.000,0.300,true\n"
    )
    data = read_data(write(tmp_path, "g.csv", text), members, tz=DEFAULT_TZ)
    assert data.consumption_wh.tolist() == [[100, 200, 0]]
    assert data.injection_wh.tolist() == [[0, 0, 300]]


def test_dso_format_semicolon_decimal_comma_registers_summed(tmp_path: Path, members: Community) -> None:
    text = (
        "Start;EAN;Register;kWh\n"
        "2026-03-01T00:00:00+01:00;000000000000000001;1.8.1;0,100\n"
        "2026-03-01T00:00:00+01:00;000000000000000001;1.8.2;0,050\n"
        "2026-03-01T00:00:00+01:00;541449000000000002;offtake;1,5\n"
        "2026-03-01T00:00:00+01:00;541449000000000003;injection;2,25\n"
    )
    data = read_data(write(tmp_path, "dso.csv", text), members, tz=DEFAULT_TZ)
    assert data.consumption_wh.tolist() == [[150, 1500, 0]]
    assert data.injection_wh.tolist() == [[0, 0, 2250]]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("2026-03-01T00:00:00+01:00,541449000000000099,1,0", "d.csv:3:27: unknown EAN .*541449000000000099"),
        ("2026-03-01T00:00:00+01:00,541449000000000002,-1,0", "d.csv:3:46: negative"),
        (
            "2026-03-01T00:00:00+01:00,541449000000000002,abc,0",
            "d.csv:3:46: not a plain decimal number: .*'abc'",
        ),
        ("2026-03-01T00:00:00+01:00,541449000000000002,1", "d.csv:3:1: expected 4 fields"),
        ("2026-03-01T00:07:00+01:00,541449000000000002,1,0", "d.csv:3:1: start is not on a quarter-hour"),
        ("2026-03-01T00:00:00,541449000000000002,1,0", "d.csv:3:1: start has no UTC offset"),
        (
            "2026-03-01T00:00:00+01:00,000000000000000001,1,0",
            r"d.csv:3:1: duplicate .*\(first at \S*d.csv:2:1\)",
        ),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, members: Community, line: str, message: str) -> None:
    text = "start,ean,consumption_kwh,injection_kwh\n2026-03-01T00:00:00+01:00,000000000000000001,1,0\n"
    with pytest.raises(InputError, match=message):
        read_data(write(tmp_path, "d.csv", text + line + "\n"), members, tz=DEFAULT_TZ)


def test_missing_quarter_hours_are_reported(tmp_path: Path, members: Community) -> None:
    rows = ["start,ean,consumption_kwh,injection_kwh"]
    for start in ("2026-03-01T00:00:00+01:00", "2026-03-01T00:30:00+01:00"):
        rows += [f"{start},{e},1,0" for e in members.eans]
    with pytest.raises(InputError, match=r"d.csv: missing quarter-hour 2026-03-01T00:15:00\+01:00"):
        read_data(write(tmp_path, "d.csv", "\n".join(rows) + "\n"), members, tz=DEFAULT_TZ)


def test_bad_members_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"m.csv:1: members header lacks weight"):
        read_members(write(tmp_path, "m.csv", "ean,name,role\n"))
    with pytest.raises(InputError, match=r"m.csv:2:22: role 'boss'"):
        read_members(write(tmp_path, "m.csv", "ean,name,role,weight\n541449000000000002,a,boss,1\n"))
    with pytest.raises(InputError, match=r"m.csv:2:1: EAN '5414' is not 18 digits"):
        read_members(write(tmp_path, "m.csv", "ean,name,role,weight\n5414,a,consumer,1\n"))


def test_kwh_text_round_trip() -> None:
    assert parse_kwh("1.2345") == 1234  # half-even to Wh
    assert parse_kwh("0,5", decimal_comma=True) == 500
    assert format_kwh(1234) == "1.234" and format_kwh(5) == "0.005"
    with pytest.raises(ValueError):
        parse_kwh("nan")


DATA_HEADER = "start,ean,consumption_kwh,injection_kwh\n"
ROW = "2026-03-01T00:00:00+01:00,000000000000000001,{},0\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1" * 41, r"d.csv:2:46: kWh value has more than 9 digits before the decimal point"),
        ("1_000", r"d.csv:2:46: not a plain decimal number: .*'1_000'"),
        ("1e3", r"d.csv:2:46: not a plain decimal number"),
        ("\u0661\u0662", r"d.csv:2:46: not a plain decimal number"),  # Arabic-Indic digits
        ("1,5", r"d.csv:2:1: expected 4 fields .*no separator inside quotes"),  # decimal comma: use ;
        ("Infinity", r"d.csv:2:46: not a plain decimal number"),
    ],
)
def test_only_plain_decimals_are_kwh(tmp_path: Path, members: Community, value: str, message: str) -> None:
    text = DATA_HEADER + ROW.format(f'"{value}"' if "," in value else value)
    with pytest.raises(InputError, match=message):
        read_data(write(tmp_path, "d.csv", text), members, tz=DEFAULT_TZ)


def test_a_huge_line_is_refused_before_it_is_read_whole(tmp_path: Path, members: Community) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes((DATA_HEADER + ROW.format("1")).encode() + b"9" * (3 << 20))  # 3 MB, no newline
    with pytest.raises(InputError, match=r"d.csv:3:4097: line longer than 4096 bytes"):
        read_data(path, members, tz=DEFAULT_TZ)


def test_an_unclosed_quote_cannot_swallow_the_file(tmp_path: Path, members: Community) -> None:
    text = DATA_HEADER + '2026-03-01T00:00:00+01:00,"000000000000000001,1,0\n' + ROW.format("1") * 3
    with pytest.raises(InputError, match=r"d.csv:2:27: unbalanced quote"):
        read_data(write(tmp_path, "d.csv", text), members, tz=DEFAULT_TZ)


def test_binary_file_is_named_with_line_and_column(tmp_path: Path, members: Community) -> None:
    path = tmp_path / "d.xlsx"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\xb0\x00")
    with pytest.raises(InputError, match=r"d.xlsx:1:6: NUL byte: this is a binary file"):
        read_data(path, members, tz=DEFAULT_TZ)


def test_windows_1252_exports_are_read(tmp_path: Path) -> None:
    members = tmp_path / "m.csv"
    members.write_bytes(
        "ean;name;role;weight\r\n541449000000000002;Hélène Dupré;consumer;100\r\n".encode("cp1252")
    )
    community = read_members(members)
    assert community.members[0].name == "Hélène Dupré"
    data = tmp_path / "dso.csv"
    data.write_bytes("start;ean;register;kWh\r\n2026-03-01T00:00:00+01:00;541449000000000002;prélèvement;0,25\r\n"
                     .encode("cp1252"))  # fmt: skip
    assert read_data(data, community, tz=DEFAULT_TZ).consumption_wh.tolist() == [[250]]


def test_encoding_that_changes_midway_is_named(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    text = "ean,name,role,weight\n541449000000000002,Hélène,consumer,50\n"
    path.write_bytes(text.encode() + "541449000000000003,Ångström,consumer,50\n".encode("cp1252"))
    with pytest.raises(InputError, match=r"m.csv:3:20: byte 0xc5 is not UTF-8.*save the whole file as UTF-8"):
        read_members(path)


def test_spreadsheet_habits_still_accepted(tmp_path: Path) -> None:
    """BOM, CRLF, ';' with decimal commas and blank lines are read; Excel's EAN is refused."""
    members = tmp_path / "m.csv"
    members.write_bytes(b"\xef\xbb\xbfean;name;role;weight\r\n541449000000000002;A;consumer;100\r\n")
    community = read_members(members)
    data = tmp_path / "d.csv"
    data.write_bytes(b"\xef\xbb\xbfstart;ean;consumption_kwh;injection_kwh\r\n\r\n"
                     b"2026-03-01T00:00:00+01:00;541449000000000002;0,125;0\r\n")  # fmt: skip
    assert read_data(data, community, tz=DEFAULT_TZ).consumption_wh.tolist() == [[125]]
    members.write_text("ean,name,role,weight\n5.41449E+17,A,consumer,100\n")
    with pytest.raises(InputError, match=r"m.csv:2:1: EAN '5.41449E\+17' is not 18 digits .*text"):
        read_members(members)
