"""Tariff data files: every shipped file loads with a source for each figure; user files override by id."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tariffs.bands import TariffDataError
from tariffs.load import REGIONS, load_tariff, read_toml, shipped_grids, shipped_offers
from tariffs.model import Kind


@pytest.mark.parametrize("key", sorted(shipped_grids()))
@pytest.mark.parametrize("offer", shipped_offers())
def test_every_shipped_tariff_loads_with_sources(key: tuple[str, str], offer: str) -> None:
    tariff = load_tariff(*key, offer=offer)
    assert tariff.valid_from.year == 2026 and tariff.vat_pct == Decimal(6)
    for comp in tariff.components:
        assert comp.source.publisher
        assert comp.source.verified or comp.source.note, f"{comp.id}: an unverified figure must say why"
    assert tariff.offer_is_example  # the shipped offers are examples, and say so


def test_regions_and_their_options() -> None:
    assert set(load_tariff("wallonia").options) == {"single", "dual", "impact"}
    assert set(load_tariff("flanders").options) == {"single", "dual"}
    assert any(c.kind is Kind.CAPACITY for c in load_tariff("flanders", "fluvius-imewo").components)
    assert not any(c.kind is Kind.CAPACITY for c in load_tariff("brussels").components)
    assert {r for r, _ in shipped_grids()} == set(REGIONS)


def test_a_user_file_overrides_one_figure_and_adds_a_component(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[[component]]\nid = "distribution"\n'
        'per_kwh = { single = 0.0812, dual = { peak = "0.1", offpeak = 0.07 }, impact = 0.09 }\n'
        'source = "ORES tariff sheet 2026"\nverified = true\n\n'
        '[[component]]\nid = "heating_discount"\nkind = "fixed"\nper_year = -12.5\n'
        'source = "me"\nverified = true\n',
        encoding="utf-8",
    )
    tariff = load_tariff("wallonia", "ores", overrides=[read_toml(mine)])
    dist = tariff.component("distribution")
    assert dist.rate("single", "all") == Decimal("0.0812")
    assert dist.rate("dual", "peak") == Decimal("0.1")
    assert dist.rate("impact", "cheap") == Decimal("0.09")
    assert dist.kind is Kind.ENERGY and dist.source.verified  # the rest of the shipped table is kept
    assert tariff.component("heating_discount").per_year == Decimal("-12.5")
    assert str(mine) in tariff.files


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[component]]\nid = "x"\nkind = "energy"\nper_kwh = 0.1\n', "needs `source` and `verified`"),
        (
            '[[component]]\nid = "x"\nkind = "energy"\nper_kwh = "abc"\nsource = "s"\nverified = false\n',
            "component 'x'.per_kwh: expected a number",
        ),
        ('[[component]]\nid = "x"\nkind = "weird"\nsource = "s"\nverified = false\n', "kind must be one of"),
        ('[[component]]\nid = "x"\nkind = "fixed"\nsource = "s"\nverified = false\n', "needs `per_year`"),
        (
            '[[component]]\nid = "x"\nkind = "energy"\nper_kwh = { dual = 0.1 }\n'
            'source = "s"\nverified = false\n',
            "no rate for option 'single'",
        ),
        ("[[component]\n", "line 1"),
    ],
)
def test_bad_user_files_say_file_key_and_what_is_wrong(tmp_path: Path, text: str, words: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(TariffDataError) as info:
        load_tariff("wallonia", overrides=[read_toml(bad)])
    assert "bad.toml" in str(info.value) and words in str(info.value)


def test_unknown_region_dso_and_offer_list_the_known_ones() -> None:
    with pytest.raises(TariffDataError, match="wallonia, flanders, brussels"):
        load_tariff("mars")
    with pytest.raises(TariffDataError, match="aieg, aiesh, ores, resa, rew"):
        load_tariff("wallonia", "acme")
    with pytest.raises(TariffDataError, match="example-fixed-2026"):
        load_tariff("wallonia", offer="cheapest-ever")
