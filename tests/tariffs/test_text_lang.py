"""The reports take their language as an input: a `Lang` whose gettext, numbers, money and dates they use.

Strategy: a made-up `Lang` (texts between « », numbers with a decimal comma, dates as d/m/y) shows that every
sentence, option label, band word and hour range goes through it while ids and parameters do not change;
the real French and Dutch `Lang` (gateway/i18n/report_lang.py) render a reason with the catalogs.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from gateway.i18n.report_lang import report_lang
from tariffs.text import ENGLISH, MESSAGES, Lang, Message, localise_hours, localise_label, option_label


def _number(value: Decimal | float | int, digits: int) -> str:
    return format(value, f".{digits}f").replace(".", ",")


MARKED = Lang(
    code="xx",
    gettext=lambda text: f"«{text}»",
    money=lambda value: f"EUR {_number(value, 2)}",
    number=_number,
    date=lambda day: day.strftime("%d/%m/%Y"),
)


def test_english_is_the_default_and_the_source() -> None:
    message = Message("only_option", {"option": option_label("dual", "compensation"), "total": "812.40"})
    assert message.render() == message.text == message.render(ENGLISH)
    assert message.text == (
        "Only one option applies to you: the dual tariff (peak / off-peak) with compensation, "
        "812.40 € a year."
    )
    assert message.to_json(ENGLISH) == {"id": "only_option", "params": message.params, "text": message.text}


def test_every_part_of_a_sentence_goes_through_the_language() -> None:
    message = Message(
        "shift",
        {
            "option": option_label("dual", ""),
            "peak_kwh": "1482",
            "band": "peak",
            "hours": "07-11 h, 17-22 h + weekends",
            "top_hours": "20-21 h and 21-22 h",
            "pct": "10",
            "moved_kwh": "133",
            "cheap_band": "offpeak",
            "cheap_hours": "all hours",
            "saving": "48.90",
        },
    )
    text = message.render(MARKED)
    assert text.startswith("«On the «dual") and text.endswith("a year.»")  # the template, translated
    assert "«dual tariff (peak / off-peak)»" in text
    assert "«peak»" in text and "«offpeak»" in text
    assert (
        "«07-11 h», «17-22 h»" in text and "«weekends»" in text and "«and»" in text and "«all hours»" in text
    )
    assert message.to_json(MARKED)["params"] == message.params  # the parameters stay as in English
    dated = Message(
        "validity", {"tariff": "ORES 2026", "valid_from": "2026-01-01", "valid_until": "2026-12-31"}
    )
    assert "01/01/2026" in dated.render(MARKED) and "ORES 2026" in dated.render(MARKED)
    assert "48,90" in text


def test_labels_and_hours_keep_unknown_text() -> None:
    assert localise_label("my own option", MARKED) == "my own option"
    assert localise_label(option_label("single", "standard"), MARKED) == "«single tariff»"
    assert localise_hours("07-22 h", ENGLISH) == "07-22 h"


def test_french_and_dutch_from_the_catalogs() -> None:
    message = Message("cheapest", {"option": option_label("single", ""), "total": "1234.50", "gap": "45.36",
                                   "second": option_label("dual", "")})  # fmt: skip
    fr, nl = message.render(report_lang("fr")), message.render(report_lang("nl"))
    assert fr.replace("\u202f", " ").replace("\xa0", " ") == (
        "L'option la moins chère est le tarif monohoraire : 1 234,50 € par an, 45,36 € de moins que le "
        "tarif bihoraire (heures pleines / heures creuses)."
    )
    assert nl == (
        "De goedkoopste optie is het enkelvoudig tarief: € 1.234,50 per jaar, € 45,36 minder dan het "
        "tweevoudig tarief (dagtarief / nachttarief)."
    )
    assert report_lang("en") is ENGLISH and report_lang("de") is ENGLISH
    assert report_lang("fr").date(date(2026, 3, 1)) == "1 mars 2026"
    assert set(MESSAGES) >= {"cheapest", "statement.title"}
