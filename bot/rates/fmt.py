"""Number and money formatting shared by advice, quotes and the markdown renderers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


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


def amount(x: float | Decimal | None, *, cents: bool | None = None) -> str:
    """1234.5 -> '1,234.50'; whole values drop the cents unless cents=True."""
    if x is None:
        return "—"
    d = Decimal(str(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if cents is None:
        cents = d != d.to_integral_value()
    return f"{d:,.2f}" if cents else f"{d:,.0f}"


def money(x: float | Decimal | None, currency: str, *, cents: bool | None = None) -> str:
    """'£1,234' for GBP, EUR and USD; '1,234 CHF' for other codes; '—' for a missing figure."""
    if x is None:
        return "—"
    sign = "-" if x < 0 else ""
    text = amount(abs(x), cents=cents)
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
