"""Number and money formatting shared by advice, quotes and the markdown renderers."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
# ISO 4217 minor units that are not 2 (https://www.iso.org/iso-4217-currency-codes.html, list one, 2024).
MINOR_UNITS = {"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
               "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
               "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3}


def num(x: float | Decimal | None) -> int | float | None:
    """A JSON-friendly number: an int when the value is whole, else a float."""
    if x is None:
        return None
    f = float(x)
    return int(f) if f.is_integer() else f


def round_figure(x: float, unit: str) -> int | float:
    """Round a derived rate: whole units for day rates, cents for hourly rates (half up)."""
    q = Decimal("1") if unit == "day" else Decimal("0.01")
    return num(Decimal(str(x)).quantize(q, rounding=ROUND_HALF_UP))


def minor_unit(currency: str) -> int:
    """Decimal places of a currency's smallest unit (2 for GBP, 0 for JPY, 3 for KWD)."""
    return MINOR_UNITS.get(currency.upper(), 2)


def round_up(x: float, places: int) -> float:
    """Round up to `places` decimals (a floor rate must cover what it was computed from); float noise
    below a billionth is ignored, so 300.0000000001 stays 300."""
    d = Decimal(repr(x)).quantize(Decimal("1e-9"), rounding=ROUND_HALF_EVEN)
    return float(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_CEILING))


def amount(x: float | Decimal | None, *, cents: bool | None = None, places: int | None = None) -> str:
    """1234.5 -> '1,234.50'; whole values drop the cents unless cents=True; `places` fixes the decimals."""
    if x is None:
        return "—"
    d = Decimal(str(x)).quantize(Decimal("0.01") if places is None else Decimal(1).scaleb(-places),
                                 rounding=ROUND_HALF_UP)
    if places is not None:
        return f"{d:,.{places}f}"
    if cents is None:
        cents = d != d.to_integral_value()
    return f"{d:,.2f}" if cents else f"{d:,.0f}"


def money(x: float | Decimal | None, currency: str, *, cents: bool | None = None, places: int | None = None) -> str:
    """'£1,234' for GBP, EUR and USD; '1,234 CHF' for other codes; '—' for a missing figure."""
    if x is None:
        return "—"
    sign = "-" if x < 0 else ""
    text = amount(abs(x), cents=cents, places=places)
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def signed_money(x: float, currency: str) -> str:
    return ("+" if x >= 0 else "-") + money(abs(x), currency)


def percent(share: float, digits: int = 0) -> str:
    d = (Decimal(str(share)) * 100).quantize(Decimal(1) if digits == 0 else Decimal(10) ** -digits,
                                            rounding=ROUND_HALF_UP)
    text = f"{d:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def money_range(low: float | None, typical: float | None, high: float | None, currency: str, unit: str) -> str:
    """'£475 to £700 a day (typical £625)' with only the figures that exist."""
    per = " an hour" if unit == "hour" else f" a {unit}"
    if low is not None and high is not None:
        text = f"{money(low, currency)} to {money(high, currency)}{per}"
        return text + (f" (typical {money(typical, currency)})" if typical is not None else "")
    if typical is not None:
        text = f"typical {money(typical, currency)}{per}"
        if low is not None:
            text += f" (low {money(low, currency)})"
        if high is not None:
            text += f" (high {money(high, currency)})"
        return text
    if low is not None:
        return f"from {money(low, currency)}{per}"
    if high is not None:
        return f"up to {money(high, currency)}{per}"
    return "no sourced figure"
