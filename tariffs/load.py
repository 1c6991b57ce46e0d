"""Tariff data files: the shipped grid tariffs, levies and example offers, and the user's overrides.

Strategy: TOML is read with ``parse_float=Decimal`` (numbers may also be quoted), so no price ever goes
through a binary float. Files are merged as plain tables before anything is built: ``[tariff]`` keys
override, ``[[component]]`` tables merge by ``id`` (a user file changes one figure without repeating
the rest, or adds a component). The result is validated once, with errors naming the file and key.
Shipped files live in ``tariffs/data/{grid,levies,offers}/``; a grid file names its region and DSO,
and the region's levies file is added automatically.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from tariffs.bands import TariffDataError, builtin_calendars
from tariffs.model import ZERO, Component, Kind, Regime, Source, Tariff

REGIONS = ("wallonia", "flanders", "brussels")
DEFAULT_DSO = {"wallonia": "ores", "flanders": "fluvius-antwerpen", "brussels": "sibelga"}
DEFAULT_OFFER = "example-fixed-2026"

Doc = dict[str, Any]


def read_toml_text(text: str, where: str) -> Doc:
    """Parse TOML text (numbers as Decimal); TariffDataError with line and column on bad syntax."""
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise TariffDataError(f"{where}: {exc}") from None


def read_toml(path: Path | str) -> Doc:
    """A user's TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TariffDataError(f"{path}: cannot read: {exc.strerror}") from None
    doc = read_toml_text(text, str(path))
    doc["_file"] = str(path)
    return doc


@cache
def _shipped() -> dict[str, Doc]:
    """Every shipped data file by its relative name (``grid/ores-2026.toml``)."""
    root = resources.files("tariffs").joinpath("data")
    docs: dict[str, Doc] = {}
    for folder in ("grid", "levies", "offers"):
        for entry in root.joinpath(folder).iterdir():
            if entry.name.endswith(".toml"):
                name = f"{folder}/{entry.name}"
                doc = read_toml_text(entry.read_text(encoding="utf-8"), f"tariffs/data/{name}")
                doc["_file"] = f"tariffs/data/{name}"
                docs[name] = doc
    return docs


def shipped_grids() -> dict[tuple[str, str], str]:
    """(region, dso) -> shipped grid file name."""
    out: dict[tuple[str, str], str] = {}
    for name, doc in _shipped().items():
        if name.startswith("grid/"):
            meta = doc.get("tariff", {})
            out[(str(meta.get("region")), str(meta.get("dso")))] = name
    return out


def shipped_offers() -> list[str]:
    return sorted(str(doc["offer"]["id"]) for n, doc in _shipped().items() if n.startswith("offers/"))


def _offer_doc(offer_id: str) -> Doc:
    for name, doc in _shipped().items():
        if name.startswith("offers/") and doc.get("offer", {}).get("id") == offer_id:
            return doc
    raise TariffDataError(f"unknown offer {offer_id!r}; shipped: {', '.join(shipped_offers())}")


def merge(docs: Iterable[Doc]) -> Doc:
    """Merge tariff documents: later ``[tariff]``/``[offer]`` keys win, components merge by id."""
    meta: Doc = {}
    components: dict[str, Doc] = {}
    files: list[str] = []
    for doc in docs:
        where = str(doc.get("_file", "<data>"))
        files.append(where)
        meta.update(doc.get("tariff", {}))
        if "offer" in doc:
            meta["offer"] = doc["offer"]
        for i, comp in enumerate(doc.get("component", [])):
            cid = comp.get("id")
            if not isinstance(cid, str) or not cid:
                raise TariffDataError(f"{where}: component #{i + 1} has no id")
            merged = {**components.get(cid, {}), **comp, "_file": where}
            components[cid] = merged
    return {"tariff": meta, "component": list(components.values()), "_files": files}


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise TariffDataError(f"{where}: expected a number, got {value!r}")
    try:
        number = Decimal(str(value).strip()) if isinstance(value, str | int | Decimal) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise TariffDataError(f"{where}: expected a number (e.g. 0.0735), got {value!r}")
    return number


def _rates(value: Any, where: str) -> dict[str, dict[str, Decimal]]:
    """``0.05`` | ``{single = 0.1, dual = {peak = .., offpeak = ..}}`` -> option -> band -> rate."""
    if not isinstance(value, Mapping):
        return {"*": {"*": _decimal(value, where)}}
    out: dict[str, dict[str, Decimal]] = {}
    for option, bands in value.items():
        if isinstance(bands, Mapping):
            out[option] = {b: _decimal(v, f"{where}.{option}.{b}") for b, v in bands.items()}
        else:
            out[option] = {"*": _decimal(bands, f"{where}.{option}")}
    return out


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise TariffDataError(f"{where}: expected a date YYYY-MM-DD, got {value!r}") from None


def _component(table: Mapping[str, Any]) -> Component:
    where = f"{table.get('_file', '<data>')}: component {table.get('id')!r}"
    try:
        kind = Kind(str(table.get("kind")))
    except ValueError:
        raise TariffDataError(f"{where}: kind must be one of {', '.join(k.value for k in Kind)}") from None
    if "source" not in table or "verified" not in table:
        raise TariffDataError(f"{where}: every figure needs `source` and `verified` (true/false)")
    regimes = table.get("regimes")
    try:
        regime_set = None if regimes is None else frozenset(Regime(r) for r in regimes)
    except ValueError:
        raise TariffDataError(
            f"{where}: regimes must be among {', '.join(r.value for r in Regime)}"
        ) from None
    numbers = {
        key: _decimal(table[key], f"{where}.{key}") if key in table else default
        for key, default in (
            ("per_year", ZERO),
            ("per_kw_year", ZERO),
            ("min_kw", ZERO),
            ("per_kva_year", ZERO),
            ("multiplier", Decimal(1)),
        )
    }
    per_kwh = _rates(table["per_kwh"], f"{where}.per_kwh") if "per_kwh" in table else {}
    dates = {
        key: _date(table[key], f"{where}.{key}") if key in table else None
        for key in ("valid_from", "valid_until")
    }
    if (dates["valid_from"] or dates["valid_until"]) and kind is not Kind.ENERGY:
        raise TariffDataError(
            f"{where}: only an energy component may change within the year (valid_from/until)"
        )
    if dates["valid_from"] and dates["valid_until"] and dates["valid_from"] >= dates["valid_until"]:
        raise TariffDataError(f"{where}: valid_from must be before valid_until")
    needs = {
        Kind.ENERGY: "per_kwh",
        Kind.INDEXED: "per_kwh",
        Kind.INJECTION: "per_kwh",
        Kind.FIXED: "per_year",
        Kind.CAPACITY: "per_kw_year",
        Kind.PROSUMER: "per_kva_year",
    }[kind]
    if needs not in table:
        raise TariffDataError(f"{where}: a {kind.value} component needs `{needs}`")
    return Component(
        id=str(table["id"]),
        label=str(table.get("label", table["id"])),
        kind=kind,
        source=Source(
            publisher=str(table["source"]),
            document=str(table.get("document", "")),
            date=str(table.get("date", "")),
            verified=bool(table["verified"]),
            note=str(table.get("note", "")),
        ),
        per_kwh=per_kwh,
        regimes=regime_set,
        vat=bool(table.get("vat", True)),
        supplier_energy=bool(table.get("supplier_energy", False)),
        valid_from=dates["valid_from"],
        valid_until=dates["valid_until"],
        **numbers,
    )


def build(doc: Doc) -> Tariff:
    """A validated `Tariff` from a merged document."""
    meta = doc.get("tariff", {})
    where = ", ".join(doc.get("_files", [])) or "<data>"
    for key in ("id", "region", "dso", "valid_from", "valid_until", "vat_pct", "options"):
        if key not in meta:
            raise TariffDataError(f"{where}: [tariff] lacks `{key}`")
    options = {str(k): str(v) for k, v in meta["options"].items()}
    calendars = builtin_calendars()
    for option, cal in options.items():
        if cal not in calendars:
            raise TariffDataError(f"{where}: tariff.options.{option} = {cal!r} is not a known calendar")
    try:
        regimes = tuple(Regime(r) for r in meta.get("prosumer_regimes", ["injection_sale"]))
    except ValueError:
        raise TariffDataError(f"{where}: tariff.prosumer_regimes has an unknown regime") from None
    components = tuple(_component(c) for c in doc.get("component", []))
    for comp in components:
        if comp.kind in (Kind.ENERGY, Kind.INJECTION):
            for option, cal in options.items():
                for band in calendars[cal].bands:
                    try:
                        comp.rate(option, band)
                    except ValueError as exc:
                        raise TariffDataError(f"{where}: {exc}") from None
    return Tariff(
        id=str(meta["id"]),
        name=str(meta.get("name", meta["id"])),
        region=str(meta["region"]),
        dso=str(meta["dso"]),
        valid_from=_date(meta["valid_from"], f"{where}: tariff.valid_from"),
        valid_until=_date(meta["valid_until"], f"{where}: tariff.valid_until"),
        vat_pct=_decimal(meta["vat_pct"], f"{where}: tariff.vat_pct"),
        options=options,
        components=components,
        prosumer_regimes=regimes,
        files=tuple(doc.get("_files", [])),
        offer=str(meta.get("offer", {}).get("name", meta.get("offer", {}).get("id", ""))),
        offer_is_example=bool(meta.get("offer", {}).get("example", False)),
    )


def load_tariff(
    region: str,
    dso: str | None = None,
    *,
    offer: str | Doc = DEFAULT_OFFER,
    overrides: Sequence[Doc] = (),
) -> Tariff:
    """The shipped grid tariff of ``region``/``dso`` + the region's levies + an offer + user overrides.

    Args:
        region: ``wallonia``, ``flanders`` or ``brussels``.
        dso: a shipped DSO name (default: the region's largest).
        offer: a shipped offer id, or a user's offer document (`read_toml`).
        overrides: user documents merged last, in order.
    """
    if region not in REGIONS:
        raise TariffDataError(f"unknown region {region!r}; use one of {', '.join(REGIONS)}")
    dso = dso or DEFAULT_DSO[region]
    grids = shipped_grids()
    if (region, dso) not in grids:
        known = ", ".join(sorted(d for r, d in grids if r == region))
        raise TariffDataError(f"no shipped tariff for DSO {dso!r} in {region}; known: {known}")
    grid = _shipped()[grids[(region, dso)]]
    year = _date(grid["tariff"].get("valid_from"), f"{grid['_file']}: tariff.valid_from").year
    docs = [grid]
    levies = _shipped().get(f"levies/{region}-{year}.toml")  # the levies of the grid tariff's year
    if levies is not None:
        docs.append(levies)
    docs.append(_offer_doc(offer) if isinstance(offer, str) else offer)
    return build(merge([*docs, *overrides]))
