"""The customer texts of notifications and events in a language: the pure core's English templates
(`prepayment.messages.Text`) translated through the catalogs, amounts in the language's Belgian form.

Strategy: the core keeps English templates marked with `N_`; this module looks each template up in the
gettext catalog of `lang` and fills it, translating nested texts (a button hint inside a sentence) and
writing decimals with the digits they carry (`15.00` -> `15,00`). English is the core's own sentence, so
English events stay byte for byte what they were. `text_json` is the same text as data (`id`, `params`)
so the dashboard can render it again in the page's language.

Example:
    render(messages.low_credit(Decimal("4.50")), "fr")   # "Crédit bas : solde 4,50 EUR, veuillez recharger"
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gateway.i18n import SOURCE_LANGUAGE, format_number, normalise, translations
from prepayment.messages import Text


def _param(value: str | int | Decimal | Text | None, lang: str) -> str:
    if isinstance(value, Text):
        return render(value, lang)
    if isinstance(value, Decimal) and value.is_finite():
        exponent = value.as_tuple().exponent
        digits = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return format_number(value, lang, digits)
    if value is None:
        return "–"
    return str(value)


def render(text: Text, lang: str | None) -> str:
    """`text` in `lang` (en, fr, nl or a tag such as `nl-BE`; unknown or None: English)."""
    code = normalise(lang) or SOURCE_LANGUAGE
    if code == SOURCE_LANGUAGE:
        return str(text)
    template = translations(code).gettext(text.template)
    return template.format(**{name: _param(value, code) for name, value in text.params})


def text_json(text: Text) -> dict[str, Any]:
    """`text` as data: `{"id": <English template>, "params": {name: value}}`; decimals as strings with their
    digits, nested texts as the same shape."""
    params: dict[str, Any] = {}
    for name, value in text.params:
        if isinstance(value, Text):
            params[name] = text_json(value)
        elif isinstance(value, Decimal):
            params[name] = str(value)
        else:
            params[name] = value
    return {"id": text.template, "params": params}
