"""The language object the pure reports take (`tariffs.text.Lang`), built from the catalogs and Babel.

Strategy: the core (tariffs/, sharing/) never reads a catalog; the shell (CLI, HTTP) turns a language
code into a `Lang` here, once per language: gettext from `translations`, numbers and euros with Babel in
the language's Belgian form, dates in its long form. English is the core's own `ENGLISH` (the source
texts, plain `1234.50` numbers and ISO dates), so English files and pages stay as they were.

Example:
    lang = report_lang("nl")
    advice_html(advice_document(advice, lang=lang), lang=lang)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

from babel.dates import format_date

from gateway.i18n import SOURCE_LANGUAGE, babel_locale, format_money, format_number, normalise, translations
from tariffs.text import ENGLISH, Lang


@cache
def report_lang(lang: str | None) -> Lang:
    """The `Lang` of `lang` (`en`, `fr`, `nl`, or a tag such as `nl-BE`; unknown: English)."""
    code = normalise(lang) or SOURCE_LANGUAGE
    if code == SOURCE_LANGUAGE:
        return ENGLISH
    catalog = translations(code)
    locale = babel_locale(code)

    def number(value: Decimal | float | int, digits: int) -> str:
        return format_number(value, code, digits)

    def money(value: Decimal) -> str:
        return format_money(value, code)

    def long_date(day: date) -> str:
        return format_date(day, format="long", locale=locale)

    return Lang(
        code=code,
        gettext=catalog.gettext,
        ngettext=catalog.ngettext,
        money=money,
        number=number,
        date=long_date,
    )
