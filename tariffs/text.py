"""Every sentence a customer reads (advice reasons, labels, statement pages), in one place.

Strategy: messages are English templates keyed by a stable id, filled with `str.format`; the JSON
outputs carry the id and the parameters next to the English text, so a translator (FR/NL catalogue
later) or the dashboard can render them in another language without re-running the maths.
"""

from __future__ import annotations

from dataclasses import dataclass

MESSAGES: dict[str, str] = {
    # option and regime names
    "option.single": "single tariff",
    "option.dual": "dual tariff (peak / off-peak)",
    "option.impact": "Impact tariff (peak / medium / cheap)",
    "regime.standard": "",
    "regime.compensation": "with compensation",
    "regime.injection_sale": "selling your injection",
    "regime.community": "in the energy community",
    # advice reasons
    "cheapest": "The cheapest option is the {option}: {total} € a year, {gap} € less than the {second}.",
    "only_option": "Only one option applies to you: the {option}, {total} € a year.",
    "register_shift": (
        "With the 2026 windows, {pct_2026} % of your PV export (mostly between 11 and 17 h) lands on "
        "register 2 (off-peak) and no longer offsets day consumption on register 1 (it was {pct_legacy} % "
        "with the old day/night hours)."
    ),
    "negative_register": (
        "Under compensation, register {register} ({band}) exported {lost} kWh more than it imported over the "
        "year: that surplus bills 0 and is lost, it does not reduce the other register."
    ),
    "compensation_vs_sale": (
        "With the {option}, compensation costs {compensation} € a year and selling your injection "
        "{sale} €: compensation is {better} by {gap} € (compensation ends on 31/12/2030)."
    ),
    "community": (
        "Joining the community ({share} % of your consumption at {price} €/kWh) costs {total} € a year with "
        "the {option}, {gap} € {direction} than without it."
    ),
    "community_gives_up": "Joining gives up compensation for good.",
    "capacity": (
        "Capacity term: the mean of your monthly peaks is {kw} kW (each month counts at least {min_kw} kW), "
        "{cost} € a year. Lowering every monthly peak by 1 kW saves {saving} € a year."
    ),
    "shift": (
        "On the {option} you use {peak_kwh} kWh a year in {band} hours ({hours}), mostly between "
        "{top_hours}. Moving {pct} % of it ({moved_kwh} kWh) to {cheap_band} hours ({cheap_hours}) the same "
        "day would save {saving} € a year."
    ),
    "completed": (
        "Your data covers {first} to {last}; {filled} of the {total} quarter-hours of the 12 months "
        "{start} to {end} ({pct} %) were missing and were filled with the nearest recorded day of the same "
        "weekday."
    ),
    "completed_months": "Months without any data (filled the same way): {months}.",
    "inverter_estimated": (
        "The prosumer tariff was computed for a {kva} kVA inverter, estimated from your largest quarter-hour "
        "export: give the real value with --inverter-kva."
    ),
    "validity": (
        "The {tariff} tariff (valid {valid_from} to {valid_until}) was applied to all 12 months, including "
        "those outside its validity: the comparison is of your consumption pattern at this year's prices."
    ),
    "placeholders": (
        "{count} of the figures used are not verified against their published source (marked in the "
        "sources table): treat the euros as an estimate until they are replaced in your tariff file."
    ),
    "example_offer": (
        "The supplier prices are an example offer, not a real one: put your contract in --offer FILE."
    ),
    # statement
    "statement.title": "Energy community statement — {member} — {month}",
    "statement.shared": "Energy received from the community",
    "statement.fee": "Management fee",
    "statement.producer": "Remuneration for energy shared",
    "statement.surplus": "Value of the surplus injected",
    "statement.to_pay": "To pay to the community",
    "statement.to_receive": "To receive from the community",
}


@dataclass(frozen=True)
class Message:
    """A sentence: its id, parameters and English text."""

    id: str
    params: dict[str, str]

    @property
    def text(self) -> str:
        return say(self.id, **self.params)

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "params": self.params, "text": self.text}


def say(message_id: str, **params: str) -> str:
    """The English text of a message."""
    return MESSAGES[message_id].format(**params)


def option_label(option: str, regime: str) -> str:
    """E.g. ``dual tariff (peak / off-peak) with compensation``."""
    base = MESSAGES.get(f"option.{option}", option)
    extra = MESSAGES.get(f"regime.{regime}", regime)
    return f"{base} {extra}".strip()
