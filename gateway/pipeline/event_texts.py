"""The customer sentence of the gateway's other events (peak warnings, voltage limit crossings) in the
gateway's language, rebuilt from their machine fields.

Strategy: those events are made in the core (`metering.peaks`, the live analysis) with an English
`message`; their amounts are machine fields too, so the shell builds the same sentence as a
`prepayment.messages.Text` (English template marked with `N_`) from them, adds it as data (`text`) and, in
French or Dutch, replaces `message` with the translation. English events keep the core's own `message`.
Prepayment events carry their `text` from the account; the clock warning is made here (`clock_skew_event`).

Example:
    localised({"type": "peak_warning", "kind": "threshold", "projected_kw": 3.1, "limit_kw": 2.5}, "nl")
    # message: "verwacht 3,100 kW, boven 2,500 kW", text: {"id": "projected {kw} kW exceeds {limit} kW", ...}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from gateway.answers import ClockSkewEvent, GatewayEvent
from gateway.i18n import SOURCE_LANGUAGE, normalise
from gateway.i18n.notices import render, text_json
from prepayment.messages import N_, Text

KW = Decimal("0.001")
VOLT = Decimal("0.1")


def _decimal(value: object, step: Decimal) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        return Decimal(str(value)).quantize(step)
    except ArithmeticError:
        return None


def customer_text(event: Mapping[str, Any]) -> Text | None:
    """The sentence of a peak warning or a voltage limit crossing (None: another event, or no amounts)."""
    kind = event.get("kind")
    if event.get("type") == "peak_warning":
        kw = _decimal(event.get("projected_kw"), KW)
        limit = _decimal(event.get("limit_kw"), KW)
        if kw is None:
            return None
        if kind == "threshold" and limit is not None:
            return Text.of(N_("projected {kw} kW exceeds {limit} kW"), kw=kw, limit=limit)
        return Text.of(N_("projected {kw} kW would set a new month peak"), kw=kw)
    if event.get("type") == "voltage_limit":
        volts = _decimal(event.get("voltage_v"), VOLT)
        phase = event.get("phase")
        if volts is None or phase is None:
            return None
        if kind == "over_voltage":
            return Text.of(
                N_("over-voltage on L{phase}: {volts} V (limit 253 V)"), phase=str(phase), volts=volts
            )
        return Text.of(N_("voltage dip on L{phase}: {volts} V (limit 207 V)"), phase=str(phase), volts=volts)
    return None


def localised(event: GatewayEvent, language: str | None) -> GatewayEvent:
    """`event` with its sentence as data (`text`) and, in French or Dutch, its `message` translated; an
    event that already has a `text`, or none we know, unchanged."""
    if "text" in event:
        return event
    text = customer_text(event)
    if text is None:
        return event
    event["text"] = text_json(text)
    if (normalise(language) or SOURCE_LANGUAGE) != SOURCE_LANGUAGE:
        event["message"] = render(text, language)
    return event


def clock_skew_event(stamp: datetime, skew_s: float | None, language: str | None) -> ClockSkewEvent:
    """The `clock_skew` event: the system clock is `skew_s` seconds off the meter's at meter time `stamp`."""
    text = Text.of(N_("system clock is {seconds} s off the meter clock"), seconds=f"{skew_s or 0:+.0f}")
    return {
        "type": "clock_skew",
        "at": stamp.isoformat(),
        "skew_s": skew_s or 0.0,
        "message": render(text, language),
        "text": text_json(text),
    }
