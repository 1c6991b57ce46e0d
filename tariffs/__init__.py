"""Tariffs as data and the euros they give: grid tariffs, levies, offers, bills, the advisor, statements.

Pure: no I/O but reading the shipped data files, no clock. See docs/tariffs.md.
"""

from tariffs.advisor import Advice, advise
from tariffs.bill import Bill, CommunityTerms, price
from tariffs.load import load_tariff
from tariffs.model import Regime, Tariff
from tariffs.series import Usage, last_twelve_months

__all__ = [
    "Advice",
    "Bill",
    "CommunityTerms",
    "Regime",
    "Tariff",
    "Usage",
    "advise",
    "last_twelve_months",
    "load_tariff",
    "price",
]
