"""Exact kWh text: plain decimal kWh <-> integer Wh (half-even beyond three decimals), and its limits.

Pure; the vectorised twin for whole columns is in :mod:`sharing.ingest_fields`.
"""

from __future__ import annotations

import re

MAX_KWH_DIGITS = 9  # integer digits of a kWh value: 999,999,999 kWh in one quarter-hour is already absurd
MAX_DECIMALS = 20
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")
PLAIN_DECIMAL_HELP = "write plain decimal numbers such as 1.234 (no exponent, digit groups or signs)"


def parse_kwh(text: str, *, decimal_comma: bool = False) -> int:
    """Plain decimal kWh text -> integer Wh (half-even beyond 3 decimals).

    Only ASCII digits with at most one decimal point (or comma when ``decimal_comma``) and a
    leading ``-`` are numbers here: no exponent, digit groups, ``_``, other scripts' digits, NaN or
    infinity. ValueError says what is wrong.
    """
    raw = text.strip()
    if not _PLAIN_DECIMAL.fullmatch(raw) or ("," in raw and not decimal_comma):
        raise ValueError(f"not a plain decimal number: {text[:40]!r}: {PLAIN_DECIMAL_HELP}")
    negative = raw.startswith("-")
    whole, _, frac = raw.lstrip("-").replace(",", ".").partition(".")
    whole = whole.lstrip("0") or "0"
    if len(whole) > MAX_KWH_DIGITS:
        raise ValueError(f"kWh value {text[:20]!r}... has {len(whole)} digits before the decimal point "
                         f"(at most {MAX_KWH_DIGITS}): is this the right column?")  # fmt: skip
    if len(frac) > MAX_DECIMALS:
        raise ValueError(f"kWh value {text[:30]!r}... has {len(frac)} decimals (at most {MAX_DECIMALS})")
    wh = int(whole) * 1000 + int((frac + "000")[:3])
    rest = frac[3:]
    if rest and (rest[0] > "5" or (rest[0] == "5" and (rest[1:].strip("0") or wh % 2))):
        wh += 1  # half-even
    return -wh if negative else wh


def format_kwh(wh: int) -> str:
    """Integer Wh -> exact kWh text with 3 decimals."""
    sign = "-" if wh < 0 else ""
    whole, frac = divmod(abs(int(wh)), 1000)
    return f"{sign}{whole}.{frac:03d}"
