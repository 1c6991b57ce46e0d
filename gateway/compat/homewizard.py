"""The HomeWizard Energy P1 meter's local API v1, as JSON built from one parsed telegram. Pure, no I/O.

Field names and types are those the official client (`python-homewizard-energy`, used by Home Assistant's
HomeWizard integration) reads: `GET /api` is `device_info`, `GET /api/v1/data` is `measurement`. The
HomeWizard spellings are kept as the device sends them, including `total_power_*_kwh` for energy and the
`montly_power_peak_*` typo. Conventions of the real device that clients rely on:

- identifiers (`unique_id`, `gas_unique_id`, external `unique_id`) are the meter's hex text, as printed in the
  telegram; the client decodes them;
- time stamps are integers `yymmddhhmmss` in the meter's local time;
- power is net and signed in W (import minus export, per phase too), energy in kWh, voltage in V, current
  in A (as the meter gives it: DSMR currents carry no sign);
- `total_power_import_kwh` is the sum of the tariff registers; `_t1` is tariff 1 (in Belgium, day; in the
  Netherlands, low);
- a value the meter does not send is left out (the client reads it as None).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from dsmr_parser import Telegram, Value

PRODUCT_TYPE = "HWE-P1"
PRODUCT_NAME = "P1 meter"
API_VERSION = "v1"

EXTERNAL_TYPES = {
    3: "gas_meter",
    4: "heat_meter",
    6: "warm_water_meter",
    7: "water_meter",
    12: "inlet_heat_meter",
}
_TO_BASE = {"kW": Decimal(1000), "W": Decimal(1), "kWh": Decimal(1), "Wh": Decimal("0.001")}
_MBUS_READINGS = ("24.2.1", "24.2.3", "24.3.0")
_PHASES = (("l1", "21", "22", "32", "31"), ("l2", "41", "42", "52", "51"), ("l3", "61", "62", "72", "71"))


def device_info(serial: str, firmware_version: str, product_name: str = PRODUCT_NAME) -> dict[str, str]:
    """`GET /api`: what the device is (the client checks `api_version` == "v1")."""
    return {
        "product_type": PRODUCT_TYPE,
        "product_name": product_name,
        "serial": serial,
        "firmware_version": firmware_version,
        "api_version": API_VERSION,
    }


def hex_text(text: str) -> str:
    """An identifier as the meter prints it: the hex of its characters (`1SAG...` -> `3153414...`)."""
    return text.encode("latin-1", "replace").hex().upper()


def meter_timestamp(moment: datetime) -> int:
    """`yymmddhhmmss` of the meter's local wall time, as an integer (the device's format)."""
    return int(moment.strftime("%y%m%d%H%M%S"))


def _scaled(value: Value | None) -> Decimal | None:
    """The value in W, kWh, V or A (kW and Wh converted); None when absent or not a number."""
    if value is None or not isinstance(value.value, Decimal | int) or isinstance(value.value, bool):
        return None
    return Decimal(value.value) * _TO_BASE.get(value.unit or "", Decimal(1))


def _float(number: Decimal | None) -> float | None:
    return None if number is None else float(number)


def _net(imported: Decimal | None, exported: Decimal | None) -> Decimal | None:
    if imported is None and exported is None:
        return None
    return (imported or Decimal(0)) - (exported or Decimal(0))


def _int(value: Value | None) -> int | None:
    if value is None:
        return None
    raw = value.value
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str | Decimal):
        try:
            return int(raw)
        except ValueError:
            return None
    return None


def smr_version(telegram: Telegram) -> int | None:
    """DSMR version from 1-3:0.2.8 (`50`), or the first two digits of e-MUCS 0-0:96.1.4 (`50217` -> 50)."""
    values = telegram.values
    dsmr = values.get("1-3:0.2.8")
    if dsmr is not None:
        return _int(dsmr)
    emucs = values.get("0-0:96.1.4")
    if emucs is not None and isinstance(emucs.value, str) and emucs.value[:2].isdigit():
        return int(emucs.value[:2])
    return None


def external_devices(telegram: Telegram) -> list[dict[str, Any]]:
    """M-Bus devices (gas, water, heat) in channel order, each with its reading and time stamp."""
    values = telegram.values
    out: list[dict[str, Any]] = []
    for channel in "1234":
        device_type = _int(values.get(f"0-{channel}:24.1.0"))
        ident = values.get(f"0-{channel}:96.1.0") or values.get(f"0-{channel}:96.1.1")
        reading = next(
            (found for code in _MBUS_READINGS if (found := values.get(f"0-{channel}:{code}")) is not None),
            None,
        )
        number = _scaled(reading)
        if device_type is None or reading is None or number is None or reading.timestamp is None:
            continue
        out.append(
            {
                "unique_id": hex_text(str(ident.value)) if ident is not None else "",
                "type": EXTERNAL_TYPES.get(device_type, "unknown"),
                "timestamp": meter_timestamp(reading.timestamp),
                "value": float(number),
                "unit": reading.unit or "",
            }
        )
    return out


def measurement(telegram: Telegram) -> dict[str, Any]:
    """`GET /api/v1/data` of one telegram."""
    values = telegram.values

    def number(code: str) -> Decimal | None:
        return _scaled(values.get(code))

    data: dict[str, Any] = {
        "smr_version": smr_version(telegram),
        "meter_model": telegram.header,
        "unique_id": hex_text(telegram.meter_id) if telegram.meter_id else None,
        "active_tariff": _int(values.get("0-0:96.14.0")),
    }
    for direction, register in (("import", "1"), ("export", "2")):
        tariffs = {t: number(f"1-0:{register}.8.{t}") for t in (1, 2, 3, 4)}
        present = [v for v in tariffs.values() if v is not None]
        data[f"total_power_{direction}_kwh"] = _float(sum(present, Decimal(0))) if present else None
        for tariff, value in tariffs.items():
            data[f"total_power_{direction}_t{tariff}_kwh"] = _float(value)
    data["active_power_w"] = _float(_net(number("1-0:1.7.0"), number("1-0:2.7.0")))
    for phase, imported, exported, voltage, current in _PHASES:
        data[f"active_power_{phase}_w"] = _float(
            _net(number(f"1-0:{imported}.7.0"), number(f"1-0:{exported}.7.0"))
        )
        data[f"active_voltage_{phase}_v"] = _float(number(f"1-0:{voltage}.7.0"))
        data[f"active_current_{phase}_a"] = _float(number(f"1-0:{current}.7.0"))
    for phase, voltage in (("l1", "32"), ("l2", "52"), ("l3", "72")):
        data[f"voltage_sag_{phase}_count"] = _int(values.get(f"1-0:{voltage}.32.0"))
        data[f"voltage_swell_{phase}_count"] = _int(values.get(f"1-0:{voltage}.36.0"))
    data["any_power_fail_count"] = _int(values.get("0-0:96.7.21"))
    data["long_power_fail_count"] = _int(values.get("0-0:96.7.9"))
    data["active_power_average_w"] = _float(number("1-0:1.4.0"))
    peak = values.get("1-0:1.6.0")
    data["montly_power_peak_w"] = _float(_scaled(peak))
    data["montly_power_peak_timestamp"] = (
        meter_timestamp(peak.timestamp) if peak is not None and peak.timestamp is not None else None
    )
    external = external_devices(telegram)
    gas = next((device for device in external if device["type"] == "gas_meter"), None)
    if gas is not None:
        data.update(total_gas_m3=gas["value"], gas_timestamp=gas["timestamp"], gas_unique_id=gas["unique_id"])
    data["external"] = external
    return {key: value for key, value in data.items() if value is not None}
