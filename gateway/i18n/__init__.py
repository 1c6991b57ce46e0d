"""Languages for everything a customer reads: gettext catalogs (French, Dutch; English is the source) and
Babel's locale data for numbers, money and dates.

Strategy: the messages are English msgids in `locales/<lang>/LC_MESSAGES/p1gw.po` (edited by people,
checked by tests/test_i18n.py: no msgid used in code may be missing, empty or fuzzy). They are compiled to
gettext `GNUTranslations` in memory with Babel when first used (no build step; a `.mo` next to the `.po`
is not needed). Python code marks texts with `_()` / `ngettext()` of `translations(lang)`; the dashboard
gets a language's messages as JSON (`catalog_json`) and marks its texts with `t()` / `tn()` in app.js and
`data-i18n` in index.html. The language is chosen by `negotiate`: the page's choice, else the config's,
else the browser's Accept-Language, else English.

Example:
    lang = negotiate("nl-BE,nl;q=0.9,en;q=0.5")        # "nl"
    _ = translations(lang).gettext
    _("This month's peak")                              # "Piek van deze maand"
    format_money(Decimal("12.5"), lang)                 # "€ 12,50"
"""

from __future__ import annotations

import gettext
import io
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

DOMAIN = "p1gw"
LOCALE_DIR = Path(__file__).with_name("locales")
LANGUAGES = ("en", "fr", "nl")
SOURCE_LANGUAGE = "en"
# the Belgian forms of each language (numbers, dates, currency placement)
BABEL_LOCALES = {"en": "en_BE", "fr": "fr_BE", "nl": "nl_BE"}
BCP47 = {"en": "en-BE", "fr": "fr-BE", "nl": "nl-BE"}


def normalise(tag: str | None) -> str | None:
    """`nl-BE`, `nl_BE`, `NL` -> `nl`; None for a language we do not have."""
    if not tag:
        return None
    lang = tag.strip().replace("_", "-").split("-")[0].lower()
    return lang if lang in LANGUAGES else None


def parse_accept_language(header: str | None) -> list[str]:
    """The tags of an Accept-Language header, best first (q=0 dropped, stable for equal weights)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag.strip() or tag.strip() == "*":
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0:
            weighted.append((-weight, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(accept_language: str | None = None, *choices: str | None) -> str:
    """The first of `choices` (page, then config) we have, else the best Accept-Language we have, else
    English."""
    for choice in choices:
        found = normalise(choice)
        if found:
            return found
    for tag in parse_accept_language(accept_language):
        found = normalise(tag)
        if found:
            return found
    return SOURCE_LANGUAGE


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The gettext translations of `lang` (English: the msgids themselves)."""
    lang = normalise(lang) or SOURCE_LANGUAGE
    if lang == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    with po_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def catalog_json(lang: str) -> dict[str, Any]:
    """What the dashboard needs for `lang`: its messages (msgid -> text; plurals as [one, other]), the
    BCP 47 tag for Intl number/date formats, and its name."""
    lang = normalise(lang) or SOURCE_LANGUAGE
    messages: dict[str, Any] = {}
    if lang != SOURCE_LANGUAGE:
        with po_path(lang).open("rb") as handle:
            catalog = read_po(handle, locale=lang, domain=DOMAIN)
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple | list):
                forms = [str(form) for form in message.string or ()]
                messages[str(message.id[0])] = [forms[0], forms[-1]]
            elif message.string:
                messages[message.id] = message.string
    return {
        "language": lang,
        "locale": BCP47[lang],
        "name": Locale.parse(BABEL_LOCALES[lang]).get_language_name(BABEL_LOCALES[lang]),
        "languages": {code: Locale.parse(BABEL_LOCALES[code]).get_language_name() for code in LANGUAGES},
        "messages": messages,
    }


def babel_locale(lang: str) -> str:
    return BABEL_LOCALES[normalise(lang) or SOURCE_LANGUAGE]


def format_number(value: Decimal | float, lang: str, digits: int = 3) -> str:
    """A number in the language's Belgian form (`1.234,567` in Dutch, `1 234,567` in French)."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=babel_locale(lang))


def format_money(value: Decimal | float, lang: str) -> str:
    """Euros in the language's Belgian form (`€ 12,50`, `12,50 €`)."""
    return format_currency(value, "EUR", locale=babel_locale(lang))


def format_time(moment: datetime, lang: str, zone: str | ZoneInfo, fmt: str = "medium") -> str:
    """An aware datetime shown in the meter's zone `zone`, in the language's form."""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    return format_datetime(moment.astimezone(tz), format=fmt, locale=babel_locale(lang))
