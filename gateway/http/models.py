"""The API's typed shapes: response models (what OpenAPI shows) and the control request bodies.

Strategy: responses are described, not rebuilt: `extra="allow"` lets the view's dicts through whole, the
models only name the fields a client can count on. Request bodies are strict (`extra="forbid"`); money and
power arrive as text matched by a pattern (exact, no float) and are handed on as Decimal (`DECIMAL_FIELDS`),
and a refused pattern is explained by a sentence (`PATTERN_HINTS`), never by the regular expression.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

AMOUNT_EUR_PATTERN = r"^(?:[1-9][0-9]{0,3}(?:\.[0-9]{1,2})?|0\.(?:[1-9][0-9]?|0[1-9])|10000(?:\.00?)?)$"
KW_PATTERN = r"^(?:100(?:\.0{1,3})?|[1-9]?[0-9](?:\.[0-9]{1,3})?)$"


# ---------------------------------------------------------------------------------------------- errors
class Error(BaseModel):
    """Every error: one sentence a person can act on."""

    detail: str


class FieldProblem(BaseModel):
    """One refused field (never its value: a request is not echoed back)."""

    loc: list[str | int] = Field(description="where: body, query or header, then the field")
    msg: str
    type: str


class Invalid(BaseModel):
    """422: one sentence, plus the refused fields when the request did not match the schema."""

    detail: str
    errors: list[FieldProblem] | None = None


# ------------------------------------------------------------------------------------------- responses
class ValueOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    value: Any = Field(description="number, text, ISO time, list (profile buffers) or null")
    unit: str | None = None
    timestamp: str | None = Field(None, description="the value's own capture time (ISO 8601)")


class TelegramOut(BaseModel):
    """Telegram JSON of ARCHITECTURE §3."""

    model_config = ConfigDict(extra="allow")
    meter_id: str
    header: str
    crc: Literal["ok", "absent"]
    timestamp: str | None = Field(description="the meter's clock, ISO 8601 with offset")
    values: dict[str, ValueOut] = Field(description="keyed by OBIS code A-B:C.D.E")
    unparsed: list[str] | None = None


class QuarterHourOut(BaseModel):
    """Quarter-hour record (energy in kWh with 3 decimals, average power in kW)."""

    model_config = ConfigDict(extra="allow")
    meter_id: str
    ean: str | None = None
    start: str = Field(description="ISO 8601 with offset, clock-aligned in local time")
    end: str
    import_day: float
    import_night: float
    export_day: float
    export_night: float
    import_kwh: float
    export_kwh: float
    avg_import_kw: float
    avg_export_kw: float
    complete: bool
    estimated: bool
    telegrams: int | None = None


# -------------------------------------------------------------------------------------- control bodies
class TopUp(BaseModel):
    """Simulated top-up; the same `id` twice credits once."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    amount_eur: str = Field(
        pattern=AMOUNT_EUR_PATTERN,
        description="EUR as text, > 0 and <= 10000, at most 2 decimals",
        examples=["10.00"],
    )
    energy: Literal["electricity", "gas"] = "electricity"


class PressButton(BaseModel):
    """The meter's button (green: electricity reconnection; red: gas)."""

    model_config = ConfigDict(extra="forbid")
    energy: Literal["electricity", "gas"] = "electricity"


class StartLeakTest(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _whole_number(value: object) -> object:
    """A JSON integer (`600`, or `600.0`, which JSON Schema counts as one), not text or a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("give a whole number (JSON integer), e.g. 600")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("give a whole number of seconds")
    return int(value)


class SetLoad(BaseModel):
    """Add a load of `kw` for `duration_s` seconds to the simulated household."""

    model_config = ConfigDict(extra="forbid")
    kw: str = Field(
        pattern=KW_PATTERN, description="kW as text, 0..100, at most 3 decimals", examples=["3.5"]
    )
    duration_s: Annotated[int, BeforeValidator(_whole_number)] = Field(gt=0, le=7 * 86400)


CONTROL_MODELS: dict[str, type[BaseModel]] = {
    "top_up": TopUp,
    "press_button": PressButton,
    "start_leak_test": StartLeakTest,
    "set_load": SetLoad,
}
PATTERN_HINTS = {
    "amount_eur": 'give EUR as text, more than 0 and at most 10000, with at most 2 decimals, e.g. "10.00"',
    "kw": 'give kW as text, 0 to 100, with at most 3 decimals, e.g. "3.5"',
    "id": "give 1 to 64 letters, digits or ._:- (no spaces)",
}
DECIMAL_FIELDS = frozenset({"amount_eur", "kw"})  # checked as text by their patterns, handed on as Decimal
