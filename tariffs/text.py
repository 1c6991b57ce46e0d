"""Every sentence a customer reads (advice reasons, labels, statement pages), in one place, in any language.

Strategy: messages are English templates keyed by a stable id, filled with `str.format`; each template is
marked with `N_` (gettext's no-op marker) so `python -m gateway.i18n.extract` puts it in the French and Dutch
catalogs. The JSON outputs carry the id and the parameters next to the text, so the dashboard can render
them again without re-running the maths. Pure: a report takes a `Lang` (its gettext, number, money and date
forms) from its caller and never reads a catalog; `ENGLISH`, the default, gives the source texts and the
plain forms of the files (`1234.50`, ISO dates), so English outputs do not change.

Example:
    Message("only_option", {"option": "single tariff", "total": "812.40"}).render(french)
    # "Une seule option s'applique à vous : le tarif monohoraire, 812,40 € par an."
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


def N_(message: str) -> str:  # gettext's conventional name for the no-op marker
    """Mark an English text for the catalogs; its translation is looked up when it is shown."""
    return message


def _same(message: str) -> str:
    return message


def _english_plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _plain_number(value: Decimal | float | int, digits: int) -> str:
    return format(value, f".{digits}f")


def _plain_money(value: Decimal) -> str:
    return f"{value} €"


def _iso(day: date) -> str:
    return day.isoformat()


@dataclass(frozen=True)
class Lang:
    """How one language writes: its catalog (`gettext`, `ngettext`) and its forms of numbers, euros and
    dates. Built by the shell (gateway.i18n.report_lang); the default is `ENGLISH`."""

    code: str = "en"
    gettext: Callable[[str], str] = field(default=_same)
    ngettext: Callable[[str, str, int], str] = field(default=_english_plural)
    money: Callable[[Decimal], str] = field(default=_plain_money)
    number: Callable[[Decimal | float | int, int], str] = field(default=_plain_number)
    date: Callable[[date], str] = field(default=_iso)

    def t(self, message: str, **params: object) -> str:
        """The translation of `message` filled with `params`."""
        text = self.gettext(message) if message else message
        return text.format(**params) if params else text


ENGLISH = Lang()

MESSAGES: dict[str, str] = {
    # option and regime names
    "option.single": N_("single tariff"),
    "option.dual": N_("dual tariff (peak / off-peak)"),
    "option.impact": N_("Impact tariff (peak / medium / cheap)"),
    "regime.standard": "",
    "regime.compensation": N_("with compensation"),
    "regime.injection_sale": N_("selling your injection"),
    "regime.community": N_("in the energy community"),
    # advice reasons
    "cheapest": N_("The cheapest option is the {option}: {total} € a year, {gap} € less than the {second}."),
    "only_option": N_("Only one option applies to you: the {option}, {total} € a year."),
    "register_shift": N_(
        "With the 2026 windows, {pct_2026} % of your PV export (mostly between 11 and 17 h) lands on "
        "register 2 (off-peak) and no longer offsets day consumption on register 1 (it was {pct_legacy} % "
        "with the old day/night hours)."
    ),
    "negative_register": N_(
        "Under compensation, register {register} ({band}) exported {lost} kWh more than it imported over the "
        "year: that surplus bills 0 and is lost, it does not reduce the other register."
    ),
    "compensation_vs_sale": N_(
        "With the {option}, compensation costs {compensation} € a year and selling your injection "
        "{sale} €: compensation is {better} by {gap} € (compensation ends on 31/12/2030)."
    ),
    "community": N_(
        "Joining the community ({share} % of your consumption at {price} €/kWh) costs {total} € a year with "
        "the {option}, {gap} € {direction} than without it."
    ),
    "community_gives_up": N_("Joining gives up compensation for good."),
    "capacity": N_(
        "Capacity term: the mean of your monthly peaks is {kw} kW (each month counts at least {min_kw} kW), "
        "{cost} € a year. Lowering every monthly peak by 1 kW saves {saving} € a year."
    ),
    "shift": N_(
        "On the {option} you use {peak_kwh} kWh a year in {band} hours ({hours}), mostly between "
        "{top_hours}. Moving {pct} % of it ({moved_kwh} kWh) to {cheap_band} hours ({cheap_hours}) the same "
        "day would save {saving} € a year."
    ),
    "completed": N_(
        "Your data covers {first} to {last}; {filled} of the {total} quarter-hours of the 12 months "
        "{start} to {end} ({pct} %) were missing and were filled with the nearest recorded day of the same "
        "weekday."
    ),
    "completed_months": N_("Months without any data (filled the same way): {months}."),
    "inverter_estimated": N_(
        "The prosumer tariff was computed for a {kva} kVA inverter, estimated from your largest quarter-hour "
        "export: give the real value with --inverter-kva."
    ),
    "validity": N_(
        "The {tariff} tariff (valid {valid_from} to {valid_until}) was applied to all 12 months, including "
        "those outside its validity: the comparison is of your consumption pattern at this year's prices."
    ),
    "placeholders": N_(
        "{count} of the figures used are not verified against their published source (marked in the "
        "sources table): treat the euros as an estimate until they are replaced in your tariff file."
    ),
    "example_offer": N_(
        "The supplier prices are an example offer, not a real one: put your contract in --offer FILE."
    ),
    # statement
    "statement.title": N_("Energy community statement — {member} — {month}"),
    "statement.shared": N_("Energy received from the community"),
    "statement.fee": N_("Management fee"),
    "statement.producer": N_("Remuneration for energy shared"),
    "statement.surplus": N_("Value of the surplus injected"),
    "statement.to_pay": N_("To pay to the community"),
    "statement.to_receive": N_("To receive from the community"),
}


# words that stand in the parameters of the sentences: band, option, region and role names as the data
# spells them (so English stays as it was), comparisons
WORDS: dict[str, str] = {
    "all": N_("all"),
    "peak": N_("peak"),
    "offpeak": N_("offpeak"),
    "medium": N_("medium"),
    "cheap": N_("cheap"),
    "single": N_("single"),
    "dual": N_("dual"),
    "impact": N_("impact"),
    "cheaper": N_("cheaper"),
    "dearer": N_("dearer"),
    "less": N_("less"),
    "more": N_("more"),
    "wallonia": N_("wallonia"),
    "flanders": N_("flanders"),
    "brussels": N_("brussels"),
    "consumer": N_("consumer"),
    "producer": N_("producer"),
    "prosumer": N_("prosumer"),
    "year": N_("year"),
}
HOURS_WORDS = (N_("all hours"), N_("never on weekdays"), N_("weekends"), N_("public holidays"))
_SPAN = re.compile(r"\b(\d\d)-(\d\d) h\b")
_NUMBER = re.compile(r"-?\d+(?:\.(\d+))?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HOURS_PARAMS = frozenset({"hours", "cheap_hours", "top_hours"})
_LABEL_PARAMS = frozenset({"option", "second"})


@dataclass(frozen=True)
class Message:
    """A sentence: its id, parameters (as in English: plain numbers, ISO dates) and English text."""

    id: str
    params: dict[str, str]

    @property
    def text(self) -> str:
        return say(self.id, **self.params)

    def render(self, lang: Lang = ENGLISH) -> str:
        """The sentence in `lang`, its numbers, dates, band and option names in that language's forms."""
        params = {name: localise_param(name, value, lang) for name, value in self.params.items()}
        return lang.t(MESSAGES[self.id], **params)

    def to_json(self, lang: Lang = ENGLISH) -> dict[str, object]:
        return {"id": self.id, "params": self.params, "text": self.render(lang)}


def say(message_id: str, **params: str) -> str:
    """The English text of a message."""
    return MESSAGES[message_id].format(**params)


def option_label(option: str, regime: str) -> str:
    """E.g. ``dual tariff (peak / off-peak) with compensation``."""
    base = MESSAGES.get(f"option.{option}", option)
    extra = MESSAGES.get(f"regime.{regime}", regime)
    return f"{base} {extra}".strip()


def _labels() -> dict[str, tuple[str, str]]:
    options = [key.removeprefix("option.") for key in MESSAGES if key.startswith("option.")]
    regimes = ["", *(key.removeprefix("regime.") for key in MESSAGES if key.startswith("regime."))]
    return {option_label(o, r): (o, r) for o in options for r in regimes}


_LABELS = _labels()


def localise_label(label: str, lang: Lang = ENGLISH) -> str:
    """An option label made by `option_label`, in `lang` (any other text is returned as is)."""
    found = _LABELS.get(label)
    if found is None:
        return label
    option, regime = found
    base = lang.t(MESSAGES[f"option.{option}"])
    extra = lang.t(MESSAGES.get(f"regime.{regime}", ""))
    return f"{base} {extra}".strip()


def word(value: str, lang: Lang = ENGLISH) -> str:
    """A band, region, role or comparison word in `lang` (unknown words unchanged)."""
    english = WORDS.get(value)
    return value if english is None else lang.t(english)


def localise_hours(text: str, lang: Lang = ENGLISH) -> str:
    """Hours as `BandCalendar.describe_band` writes them (``07-11 h, 17-22 h + weekends``) in `lang`."""
    text = _SPAN.sub(lambda m: lang.t(N_("{start}-{end} h"), start=m[1], end=m[2]), text)
    for english in HOURS_WORDS:
        text = text.replace(english, lang.t(english))
    return text.replace(" and ", f" {lang.t(N_('and'))} ")


def localise_number(text: str, lang: Lang = ENGLISH) -> str:
    """A plain number (``1234.50``) in `lang`'s form, with as many decimals."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        return text
    return lang.number(Decimal(text), len(match[1] or ""))


def localise_param(name: str, value: str, lang: Lang = ENGLISH) -> str:
    """One parameter of a message in `lang`: a number, a date, an option label, hours or a word."""
    if _NUMBER.fullmatch(value):
        return localise_number(value, lang)
    if _DATE.fullmatch(value):
        return lang.date(date.fromisoformat(value))
    if name in _LABEL_PARAMS:
        return localise_label(value, lang)
    if name in _HOURS_PARAMS:
        return localise_hours(value, lang)
    return word(value, lang)
