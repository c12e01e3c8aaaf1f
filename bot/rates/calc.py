"""The rate calculator: from a target yearly income to a day rate and an hour rate, every step shown.

    overhead         = the amount given, or income x overhead_share
    revenue needed   = (income + overhead) / (1 - tax)
    day rate         = revenue / billable days
    hour rate        = day rate / hours per day

`income` is the yearly profit wanted before personal tax; `tax` the share of revenue lost to social or
self-employment charges. The arithmetic runs at full precision; the day and hour rates are rounded up to the
currency's minor unit (a floor must cover the income it comes from: 60,000 over 180 days is 333.34, not 333.33),
other shown values to the nearest cent. The person's figures are returned, never logged.
"""

from __future__ import annotations

import logging
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.errors import InputError
from bot.rates.fmt import amount, minor_unit, percent, round_up

log = logging.getLogger(__name__)

DEFAULT_BILLABLE_DAYS = 180
DEFAULT_HOURS_PER_DAY = 7.5
_CENTS = Decimal("0.01")

BILLABLE_DAYS_NOTE = (
    "Malt's worked example counts about 179 billable days a year: 253 working days minus 25 holiday, 4 sick and "
    "45 prospecting days (Malt help, undated). Lost billable days raise the rate you need."
)
TAX_NOTE = ("`tax` is applied to all revenue, so where tax falls only on profit this slightly overstates it. "
            "Not tax advice: ask an accountant for your effective rate.")


def _number(name: str, value: Any, *, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise InputError(f"{name} must be a number.", hint=hint) from None
    x = float(value)
    if not math.isfinite(x):
        raise InputError(f"{name} must be a finite number.", hint=hint)
    return x


def _cents(x: float) -> float:
    return float(Decimal(repr(x)).quantize(_CENTS, rounding=ROUND_HALF_UP))


def _currency(value: Any) -> str:
    code = str(value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        shown = ascii(str(value))[:20]
        raise InputError(f"currency {shown} is not a 3-letter code.", hint="Use an ISO code such as GBP, EUR or USD.")
    return code


def rate_calc(*, income: float, currency: str, overhead: float | None = None, overhead_share: float | None = None,
              tax: float | None = 0.0, billable_days: float | None = DEFAULT_BILLABLE_DAYS,
              hours_per_day: float | None = DEFAULT_HOURS_PER_DAY) -> dict[str, Any]:
    """Day and hour rate from a target income. Raises InputError naming the bad value and the fix."""
    currency = _currency(currency)
    income = _number("income", income, hint="Give your target yearly profit before personal tax, e.g. 80000.")
    if income <= 0:
        raise InputError("income must be greater than 0.", hint="Give your target yearly profit, e.g. 80000.")
    if overhead is not None and overhead_share is not None:
        raise InputError("give overhead as an amount or as a share of income, not both.",
                         hint="Use --overhead 12000 or --overhead-share 0.15.")
    share = None
    if overhead_share is not None:
        share = _number("overhead share", overhead_share, hint="Use a fraction of income, e.g. 0.15 for 15%.")
        if not 0 <= share <= 1:
            raise InputError("overhead share must be between 0 and 1 (0.15 means 15% of income).",
                             hint="For costs above your income, give --overhead as an amount.")
        overhead_amount = income * share
    else:
        overhead_amount = 0.0 if overhead is None else _number(
            "overhead", overhead, hint="Give your yearly business costs as an amount, e.g. 12000.")
        if overhead_amount < 0:
            raise InputError("overhead cannot be negative.", hint="Give yearly business costs, e.g. 12000, or 0.")
    tax = 0.0 if tax is None else _number("tax", tax, hint="Use a share of revenue, e.g. 0.3 for 30%.")
    if not 0 <= tax < 1:
        raise InputError("tax must be a share from 0 up to (not including) 1, e.g. 0.3 for 30%.",
                         hint="It is the share of revenue lost to social or self-employment charges.")
    days = DEFAULT_BILLABLE_DAYS if billable_days is None else _number(
        "billable days", billable_days, hint="Give the days you can invoice in a year, e.g. 180.")
    if not 1 <= days <= 366:
        raise InputError("billable days must be between 1 and 366.", hint="Malt's worked example uses about 179.")
    hours = DEFAULT_HOURS_PER_DAY if hours_per_day is None else _number(
        "hours per day", hours_per_day, hint="Give the hours in a billable day, e.g. 7.5.")
    if not 0 < hours <= 24:
        raise InputError("hours per day must be greater than 0 and at most 24.", hint="A day rate usually covers 7 to 8 hours.")

    places = minor_unit(currency)
    needed = income + overhead_amount
    revenue = needed / (1 - tax)
    charges = revenue * tax
    day_rate = revenue / days
    hour_rate = day_rate / hours

    steps = []
    if share is not None:
        steps.append({"label": "Overhead = income × overhead share",
                      "formula": f"{amount(income, cents=True)} × {share:g}", "value": _cents(overhead_amount)})
    steps += [
        {"label": "Income + overhead", "formula": f"{amount(income, cents=True)} + {amount(overhead_amount, cents=True)}",
         "value": _cents(needed)},
        {"label": "Revenue needed = (income + overhead) / (1 - tax)",
         "formula": f"{amount(needed, cents=True)} / (1 - {tax:g})", "value": _cents(revenue)},
        {"label": "Of which tax and charges = revenue × tax", "formula": f"{amount(revenue, cents=True)} × {tax:g}",
         "value": _cents(charges)},
        {"label": "Day rate = revenue / billable days (rounded up)", "formula": f"{amount(revenue, cents=True)} / {days:g}",
         "value": round_up(day_rate, places)},
        {"label": "Hour rate = day rate / hours per day (rounded up)", "formula": f"{amount(day_rate, cents=True)} / {hours:g}",
         "value": round_up(hour_rate, places)},
    ]
    result = {
        "day_rate": round_up(day_rate, places),
        "hour_rate": round_up(hour_rate, places),
        "minor_unit": places,
        "currency": currency,
        "revenue": _cents(revenue),
        "assumptions": {
            "income": _cents(income),
            "overhead": _cents(overhead_amount),
            "overhead_share": share,
            "tax": tax,
            "billable_days": days if not float(days).is_integer() else int(days),
            "hours_per_day": hours,
            "billable_hours": _cents(days * hours),
        },
        "steps": steps,
        "notes": [
            f"Income is the yearly profit before personal tax; tax is the share of revenue lost to charges "
            f"({percent(tax, 1)} here).",
            BILLABLE_DAYS_NOTE,
            TAX_NOTE,
            f"The rates are rounded up to the currency's smallest unit ({10 ** -places:g} {currency}), so billing them "
            "covers the income.",
            "This is your floor from costs and income; compare it with the market range from `rate`.",
        ],
    }
    log.info("rate calculation done")
    return result
