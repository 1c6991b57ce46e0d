"""`p1gw advise` and `p1gw statement` end to end: real files and a real SQLite store in, files out."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from gateway.cli import main
from gateway.store import open_store
from sharing.kwh import format_kwh
from tariffs.advisor import advise
from tariffs.load import load_tariff
from tariffs.series import Usage
from tests.tariffs.helpers import local_ts
from tests.tariffs.households import household_year


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone().isoformat()


def write_gateway_csv(path: Path, usage: Usage, meter: str = "1SAG1100000292") -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("meter_id,ean,start,end,import_kwh,export_kwh\n")
        for ts, imp, exp in zip(
            usage.start_ts.tolist(), usage.import_wh.tolist(), usage.export_wh.tolist(), strict=True
        ):
            handle.write(f"{meter},,{iso(ts)},{iso(ts + 900)},{format_kwh(imp)},{format_kwh(exp)}\n")


def spring(kind: str) -> Usage:
    year = household_year(kind)
    return year.between(local_ts(2026, 3, 1), local_ts(2026, 6, 1))


def test_advise_from_the_gateway_csv_writes_json_and_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usage = spring("prosumer")
    write_gateway_csv(tmp_path / "qh.csv", usage)
    code = main(
        [
            "advise",
            "--data",
            str(tmp_path / "qh.csv"),
            "--region",
            "wallonia",
            "--dso",
            "resa",
            "--pv-before-2024",
            "--inverter-kva",
            "5",
            "--community-share",
            "30",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    doc = json.loads((tmp_path / "out" / "advice.json").read_text(encoding="utf-8"))
    expected = advise(
        usage,
        load_tariff("wallonia", "resa"),
        compensation_eligible=True,
        inverter_kva=Decimal(5),
        community=None,
    )
    assert doc["dso"] == "resa" and doc["period"]["window_start"] == "2025-06-01"
    assert any(o["regime"] == "community" for o in doc["options"])
    by_key = {(o["option"], o["regime"]): o["total_eur"] for o in doc["options"]}
    for p in expected.ranked:  # the CLI prices exactly what the library prices
        assert by_key[(p.option, p.regime.value)] == str(p.total_eur)
    assert [o["rank"] for o in doc["options"]] == list(range(1, len(doc["options"]) + 1))
    assert any(r["id"] == "completed" for r in doc["reasons"])
    page = (tmp_path / "out" / "advice.html").read_text(encoding="utf-8")
    assert "<table>" in page and "<svg" in page and doc["reasons"][0]["text"] in page.replace("&#x27;", "'")
    assert "cheapest:" in capsys.readouterr().out


def test_advise_from_the_gateway_database(tmp_path: Path) -> None:
    usage = spring("heat_pump")
    with open_store(tmp_path / "gw.db") as store:
        store.add_quarter_hours(
            {
                "meter_id": "1SAG1",
                "start": iso(ts),
                "end": iso(ts + 900),
                "import_day": format_kwh(imp),
                "import_night": "0",
                "export_day": "0",
                "export_night": "0",
            }
            for ts, imp in zip(usage.start_ts.tolist(), usage.import_wh.tolist(), strict=True)
        )
    out = tmp_path / "out"
    assert main(["advise", "--db", str(tmp_path / "gw.db"), "--region", "flanders", "--out", str(out)]) == 0
    doc = json.loads((out / "advice.json").read_text(encoding="utf-8"))
    assert doc["capacity"]["min_kw"] == "2.5"
    assert (
        Decimal(doc["usage"]["import_kwh"]) > Decimal(int(usage.import_wh.sum())) / 1000
    )  # the year was completed


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            "start,ean,consumption_kwh,injection_kwh\n2026-03-01T00:00:00+01:00,541449000000000001,abc,0\n",
            "qh.csv:2:46: not a plain decimal number",
        ),
        (
            "start,ean,consumption_kwh,injection_kwh\n2026-03-01T00:00:00,541449000000000001,1,0\n",
            "qh.csv:2:1: start has no UTC offset",
        ),
        ("when,what\n1,2\n", "qh.csv:1:1: unrecognised data header"),
    ],
)
def test_advise_bad_input_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, words: str
) -> None:
    (tmp_path / "qh.csv").write_text(content, encoding="utf-8")
    assert (
        main(["advise", "--data", str(tmp_path / "qh.csv"), "--region", "wallonia", "--out", str(tmp_path)])
        == 2
    )
    assert words in capsys.readouterr().err


def test_advise_with_an_indexed_offer_and_a_price_series(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usage = spring("heat_pump").between(local_ts(2026, 5, 1), local_ts(2026, 6, 1))
    write_gateway_csv(tmp_path / "qh.csv", usage)
    hours = range(local_ts(2025, 6, 1), local_ts(2026, 6, 1), 3600)  # the 12 months priced
    (tmp_path / "prices.csv").write_text(
        "start;eur_per_mwh\n" + "".join(f"{iso(h)};{80 + (h // 3600) % 24},5\n" for h in hours),
        encoding="utf-8",
    )
    args = [
        "advise",
        "--data",
        str(tmp_path / "qh.csv"),
        "--region",
        "brussels",
        "--offer",
        "example-indexed-2026",
    ]
    assert main([*args, "--out", str(tmp_path / "no")]) == 2  # an indexed offer needs prices
    (tmp_path / "short.csv").write_text("start,eur_per_mwh\n2026-05-01T00:00:00+02:00,80\n", encoding="utf-8")
    assert main([*args, "--prices", str(tmp_path / "short.csv"), "--out", str(tmp_path / "no")]) == 2
    assert "no price for 2025-06-01T00:00:00+02:00" in capsys.readouterr().err
    assert main([*args, "--prices", str(tmp_path / "prices.csv"), "--out", str(tmp_path / "out")]) == 0
    doc = json.loads((tmp_path / "out" / "advice.json").read_text(encoding="utf-8"))
    assert doc["tariff"]["offer"].startswith("Example indexed")


def write_community(tmp_path: Path) -> None:
    (tmp_path / "members.csv").write_text(
        "ean,name,role,weight\n541449000000000001,Anna,consumer,50\n541449000000000002,Bert,consumer,50\n"
        "541449000000000009,PV roof,producer,0\n",
        encoding="utf-8",
    )
    rng = np.random.default_rng(5)
    with (tmp_path / "data.csv").open("w", encoding="utf-8") as handle:
        handle.write("start,ean,consumption_kwh,injection_kwh\n")
        for k in range(96 * 40):  # 40 days from 10 April: April and May
            ts = local_ts(2026, 4, 10) + 900 * k
            a, b, p = (int(x) for x in rng.integers(0, 900, 3))
            handle.write(
                f"{iso(ts)},541449000000000001,{format_kwh(a)},0.000\n"
                f"{iso(ts)},541449000000000002,{format_kwh(b)},0.000\n"
                f"{iso(ts)},541449000000000009,0.000,{format_kwh(p)}\n"
            )


def test_statement_writes_balanced_csvs_and_a_page_per_member(tmp_path: Path) -> None:
    write_community(tmp_path)
    out = tmp_path / "out"
    code = main(
        [
            "statement",
            "--members",
            str(tmp_path / "members.csv"),
            "--data",
            str(tmp_path / "data.csv"),
            "--shared-price",
            "0.12",
            "--producer-price",
            "0.08",
            "--fee",
            "5",
            "--surplus-price",
            "60",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    rows = list(csv.DictReader((out / "statement.csv").open(encoding="utf-8")))
    totals = {r["month"]: r for r in csv.DictReader((out / "community.csv").open(encoding="utf-8"))}
    assert sorted({r["month"] for r in rows}) == ["2026-04", "2026-05"] and len(rows) == 6
    collected = sum(Decimal(r["shared_cost_eur"]) + Decimal(r["fee_eur"]) for r in rows)
    assert collected == Decimal(totals["total"]["collected_eur"])
    assert sum(Decimal(r["balance_eur"]) for r in rows) == (
        Decimal(totals["total"]["collected_eur"]) - Decimal(totals["total"]["paid_to_producers_eur"])
    )
    assert Decimal(totals["total"]["received_kwh"]) == Decimal(totals["total"]["shared_injection_kwh"])
    pages = sorted(p.name for p in (out / "members").iterdir())
    assert pages == ["541449000000000001.html", "541449000000000002.html", "541449000000000009.html"]
    assert "To pay to the community" in (out / "members" / pages[0]).read_text(encoding="utf-8")


def test_statement_reconciles_with_the_dso_allocation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_community(tmp_path)
    base = [
        "statement",
        "--members",
        str(tmp_path / "members.csv"),
        "--data",
        str(tmp_path / "data.csv"),
        "--shared-price",
        "0.12",
        "--producer-price",
        "0.08",
    ]
    assert (
        main(
            [
                "share",
                "--members",
                str(tmp_path / "members.csv"),
                "--data",
                str(tmp_path / "data.csv"),
                "--key",
                "dynamic",
                "--out",
                str(tmp_path / "share"),
                "--no-report",
            ]
        )
        == 0
    )
    # the DSO's file: our allocation re-labelled, with one quarter-hour's shared figure off by 3 Wh
    lines = [
        "start;ean;gross_consumption_kwh;shared_consumption_kwh;net_consumption_kwh;gross_injection_kwh;"
        "shared_injection_kwh;net_injection_kwh"
    ]
    for i, r in enumerate(csv.DictReader((tmp_path / "share" / "allocation.csv").open(encoding="utf-8"))):
        shared = Decimal(r["shared_kwh"]) + (Decimal("0.003") if i == 7 else 0)
        inj, sur = Decimal(r["injection_kwh"]), Decimal(r["surplus_kwh"])
        fields = [r["consumption_kwh"], shared, r["residual_kwh"], inj, inj - sur, sur]
        lines.append(";".join([r["start"], r["ean"], *(str(f).replace(".", ",") for f in fields)]))
    (tmp_path / "dso.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert (
        main(
            [
                *base,
                "--allocation",
                str(tmp_path / "share" / "allocation.csv"),
                "--dso-allocation",
                str(tmp_path / "dso.csv"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    diffs = list(csv.DictReader((out / "reconciliation.csv").open(encoding="utf-8")))
    assert [(d["field"], d["difference_wh"]) for d in diffs] == [("shared_consumption", "3")]
    assert "1 differences beyond 1 Wh" in capsys.readouterr().out
    # computing the allocation (dynamic key) gives the same statement as reading share's allocation.csv
    assert main([*base, "--key", "dynamic", "--out", str(tmp_path / "computed")]) == 0
    assert (out / "statement.csv").read_text() == (tmp_path / "computed" / "statement.csv").read_text()


def write_fluvius_export(path: Path, usage: Usage) -> None:
    """`usage` as Mijn Fluvius exports it: `;`, decimal comma, local `dd-mm-yyyy`, `="EAN"`, a row per
    register (import on `Afname Dag`, export on `Injectie Dag`, the night registers at 0)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Brussels")
    lines = [
        "Van Datum;Van Tijdstip;Tot Datum;Tot Tijdstip;EAN;Meter;Metertype;Register;Volume;Eenheid;"
        "Validatiestatus"
    ]
    for ts, imp, exp in zip(
        usage.start_ts.tolist(), usage.import_wh.tolist(), usage.export_wh.tolist(), strict=True
    ):
        start = datetime.fromtimestamp(ts, zone)
        end = datetime.fromtimestamp(ts + 900, zone)
        when = f"{start:%d-%m-%Y;%H:%M:%S};{end:%d-%m-%Y;%H:%M:%S}"
        for register, wh in (
            ("Afname Dag", imp),
            ("Afname Nacht", 0),
            ("Injectie Dag", exp),
            ("Injectie Nacht", 0),
        ):
            volume = format_kwh(wh).replace(".", ",")
            lines.append(
                f'{when};="541448800000000017";1SAG1100000017;Digitale Meter;{register};{volume};kWh;'
                "Gevalideerd"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_advise_reads_the_mijn_fluvius_export(tmp_path: Path) -> None:
    """The export as Flemish users download it is recognised by its header and priced like the same
    quarter-hours in the gateway's own CSV."""
    usage = spring("prosumer")
    write_fluvius_export(tmp_path / "Verbruikshistoriek.csv", usage)
    out = tmp_path / "out"
    args = [
        "advise",
        "--data",
        str(tmp_path / "Verbruikshistoriek.csv"),
        "--region",
        "flanders",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    doc = json.loads((out / "advice.json").read_text(encoding="utf-8"))
    expected = advise(
        usage, load_tariff("flanders"), compensation_eligible=False, inverter_kva=None, community=None
    )
    by_key = {(o["option"], o["regime"]): o["total_eur"] for o in doc["options"]}
    for p in expected.ranked:
        assert by_key[(p.option, p.regime.value)] == str(p.total_eur)
