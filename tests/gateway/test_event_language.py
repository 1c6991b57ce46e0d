"""Prepayment notifications reach customers in the configured language: the event's `message` is
translated from the core's English template, its machine fields (type, kind, amounts) stay the same, and
`text` carries the template and parameters for pages in another language."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gateway.answers import ClockSkewEvent, VoltageLimitEvent
from gateway.i18n.notices import render, text_json
from gateway.pipeline.prepayment import notification_event
from metering.peaks import PeakWarningEvent
from prepayment import Notification, NotificationKind, messages

AT = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


def _note(text: messages.Text, kind: NotificationKind = NotificationKind.TOP_UP_ACCEPTED) -> Notification:
    return Notification(kind, AT, "electricity", str(text), Decimal("1234.50"), text)


def test_english_events_are_the_cores_sentences() -> None:
    text = messages.top_up_accepted(Decimal("20.00"), Decimal("1234.50"))
    event = notification_event(_note(text))
    assert event["message"] == "Top-up of 20.00 EUR accepted; balance 1234.50 EUR"
    assert notification_event(_note(text), "en") == event


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fr", "Rechargement de 20,00\xa0EUR accepté ; solde 1\u202f234,50\xa0EUR"),
        ("nl", "Oplading van 20,00 EUR aanvaard; saldo 1.234,50 EUR"),
    ],
)
def test_events_in_the_configured_language_keep_their_machine_fields(lang: str, expected: str) -> None:
    text = messages.top_up_accepted(Decimal("20.00"), Decimal("1234.50"))
    english = notification_event(_note(text))
    event = notification_event(_note(text), lang)
    normalise = str.maketrans({"\xa0": " ", "\u202f": " "})
    assert event["message"].translate(normalise) == expected.translate(normalise)
    assert {k: v for k, v in event.items() if k != "message"} == {
        k: v for k, v in english.items() if k != "message"
    }
    assert event["type"] == "prepayment_top_up_accepted" and event["balance_eur"] == 1234.5


def test_nested_texts_are_translated_and_given_as_data() -> None:
    text = messages.reconnection_possible("electricity", 7)
    assert str(text) == "Electricity can be reconnected: hold the green button for 7 s"
    assert render(text, "nl") == "De elektriciteit kan weer aan: houd de groene knop 7 s ingedrukt"
    assert text_json(text) == {
        "id": "Electricity can be reconnected: {action}",
        "params": {"action": {"id": "hold the green button for {seconds} s", "params": {"seconds": 7}}},
    }


def test_a_notification_without_a_template_keeps_its_message() -> None:
    note = Notification(NotificationKind.LOW_CREDIT, AT, "gas", "as told", Decimal("1"))
    event = notification_event(note, "fr")
    assert event["message"] == "as told" and "text" not in event


def test_peak_warnings_and_voltage_crossings_are_told_in_the_language() -> None:
    from gateway.pipeline.event_texts import localised

    warning: PeakWarningEvent = {
        "type": "peak_warning",
        "kind": "threshold",
        "at": AT.isoformat(),
        "quarter_start": "2026-11-22T13:00:00+00:00",
        "quarter_end": "2026-11-22T13:15:00+00:00",
        "projected_kw": 3.1,
        "limit_kw": 2.5,
        "message": "m",
    }
    english = localised(warning.copy(), None)
    assert (
        english["message"] == "m" and english.get("text", {})["id"] == "projected {kw} kW exceeds {limit} kW"
    )
    assert localised(warning.copy(), "nl")["message"] == "verwacht 3,100 kW, boven 2,500 kW"
    assert {key: value for key, value in english.items() if key != "text"} == warning  # machine fields kept
    dip: VoltageLimitEvent = {
        "type": "voltage_limit",
        "at": AT.isoformat(),
        "kind": "dip",
        "phase": 2,
        "voltage_v": 201.3,
        "exporting": False,
        "source": "p1",
        "message": "m",
    }
    assert localised(dip.copy(), "fr")[
        "message"
    ] == "creux de tension sur L2\u00a0: 201,3 V (limite 207 V)".replace("\u00a0", " ")
    other: ClockSkewEvent = {"type": "clock_skew", "at": AT.isoformat(), "skew_s": 90.0, "message": "m"}
    assert localised(other.copy(), "fr") == other  # no sentence known without its text: unchanged


def test_what_to_do_is_translated_from_the_same_template() -> None:
    from prepayment import PrepaymentAccount
    from prepayment.view import what_to_do, what_to_do_text
    from tests.prepayment.support import D, bru, simple

    acc = PrepaymentAccount(simple(button_hold_s=7), bru(2026, 6, 1, 9))
    acc.add_debt(D("1.00"), bru(2026, 6, 1, 9, 1))
    assert what_to_do(acc) == str(what_to_do_text(acc)) == "Nothing to do"
    assert render(what_to_do_text(acc), "nl") == "Niets te doen"
    text = messages.top_up_then_button(D("15.50"), messages.hold_button("electricity", 7))
    assert str(text) == "Top up at least 15.50 EUR, then hold the green button for 7 s"
    assert render(text, "fr").replace("\xa0", " ") == (
        "Rechargez au moins 15,50 EUR, puis maintenez le bouton vert enfoncé 7 s"
    )


def test_the_clock_warning_keeps_its_english_and_is_translated() -> None:
    from gateway.pipeline.event_texts import clock_skew_event

    english = clock_skew_event(AT, 130.4, None)
    assert english["message"] == "system clock is +130 s off the meter clock"
    assert (english["type"], english["skew_s"]) == ("clock_skew", 130.4)
    assert (
        clock_skew_event(AT, 130.4, "nl")["message"]
        == "de systeemklok wijkt +130 s af van de klok van de meter"
    )
