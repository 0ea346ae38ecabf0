"""Display currencies (no conversion: LiteLLM prices and spend are in US dollars) and money formatting."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Currency:
    """ISO 4217 code, the symbol shown next to amounts, a name and the usual number of decimals."""

    code: str
    symbol: str
    name: Any
    decimals: int = 2


CURRENCIES: dict[str, Currency] = {c.code: c for c in [
    Currency("USD", "$", _("US dollar")),
    Currency("EUR", "€", _("Euro")),
    Currency("GBP", "£", _("Pound sterling")),
    Currency("JPY", "¥", _("Japanese yen"), 0),
    Currency("CNY", "CN¥", _("Chinese yuan")),
    Currency("INR", "₹", _("Indian rupee")),
    Currency("CHF", "CHF", _("Swiss franc")),
    Currency("CAD", "CA$", _("Canadian dollar")),
    Currency("AUD", "A$", _("Australian dollar")),
    Currency("BRL", "R$", _("Brazilian real")),
    Currency("KRW", "₩", _("South Korean won"), 0),
    Currency("MXN", "MX$", _("Mexican peso")),
    Currency("SEK", "kr", _("Swedish krona")),
    Currency("NOK", "kr", _("Norwegian krone")),
    Currency("DKK", "kr", _("Danish krone")),
    Currency("PLN", "zł", _("Polish złoty")),
    Currency("SGD", "S$", _("Singapore dollar")),
    Currency("HKD", "HK$", _("Hong Kong dollar")),
    Currency("NZD", "NZ$", _("New Zealand dollar")),
    Currency("ZAR", "R", _("South African rand")),
]}
DEFAULT_CURRENCY_CODE = "USD"

# Languages that write the symbol before the amount ("$1.50"); the others after it ("1,50 $").
_SYMBOL_FIRST_LANGUAGES = {"en"}


def format_money(amount: Any, currency: Currency, decimals: int | None = None) -> str:
    """``amount`` with the currency symbol, grouped and with the decimal mark of the active language.

    Tiny non-zero amounts (per-token prices) keep enough decimals to stay visible instead of showing 0.00.
    Returns "—" for ``None`` or a value that is not a number.
    """
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return "—"
    places = currency.decimals if decimals is None else decimals
    if decimals is None and value and abs(value) < Decimal("0.01"):
        # Two significant digits, without trailing zeros: 0.0003, 0.00035.
        rounded = round(value, min(8, -value.copy_abs().adjusted() + 1)).normalize()
        places = max(places, -rounded.as_tuple().exponent)
    number = formats.number_format(round(value, places), decimal_pos=places, use_l10n=True, force_grouping=True)
    language = (get_language() or "en").split("-")[0]
    if language in _SYMBOL_FIRST_LANGUAGES:
        return f"-{currency.symbol}{number[1:]}" if number.startswith("-") else f"{currency.symbol}{number}"
    return f"{number}\u00a0{currency.symbol}"
