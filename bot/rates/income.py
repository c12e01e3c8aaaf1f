"""A target income named in a rates question ("i want to make 90k a year, what day rate?"), worked through
the rate calculator for a note under the answer: the guides' formula applied to the asker's own figure.

Only a yearly amount the asker wants to earn counts ("make 90k a year", "100k take home", "a target
income of £80,000"); a salary to compare with ("my salary is 120k") is not a target, and the salary
guide warns against dividing it by working days. The note states what it leaves out (overhead and tax)
and points to the calculator for them. Nothing here is logged: a rates answer is private.
"""

from __future__ import annotations

import re

from bot.rates.calc import DEFAULT_BILLABLE_DAYS, DEFAULT_HOURS_PER_DAY, rate_calc
from bot.rates.fmt import amount

_SYMBOLS = {"£": "GBP", "$": "USD", "€": "EUR"}
_WORDS = {"pounds": "GBP", "quid": "GBP", "gbp": "GBP", "k gbp": "GBP", "dollars": "USD", "usd": "USD",
          "euros": "EUR", "eur": "EUR", "chf": "CHF", "francs": "CHF"}
_PLACES = {"united kingdom": "GBP", "london": "GBP", "united states": "USD", "germany": "EUR", "france": "EUR",
           "austria": "EUR", "netherlands": "EUR", "spain": "EUR", "italy": "EUR", "ireland": "EUR",
           "switzerland": "CHF"}
_AMOUNT = re.compile(r"(?P<sym>[£$€])?\s?(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s?(?P<k>k\b|K\b|grand\b)?"
                     r"\s?(?P<word>pounds|quid|gbp|dollars|usd|euros|eur|chf|francs)?", re.I)
# What makes the amount a yearly target: a wish to earn it, or "a year" / "take home" next to it.
_WANT = re.compile(r"\b(make|making|earn|earning|take home|take-home|clear|net|gross|target|aim(ing)? for|"
                   r"want|need|hoping for|income of)\b", re.I)
_YEARLY = re.compile(r"^\s*(a|per|/|each|every)\s*(year|yr|annum)\b|^\s*(annually|yearly|p\.?a\.?\b|take[- ]home|"
                     r"net|gross|income)", re.I)
_SALARY = re.compile(r"\bsalar(y|ies)\b|\bpaid\b|\bearns? as an employee\b", re.I)
_ASKS_RATE = re.compile(r"\b(day rate|daily rate|hourly|per hour|per day|an hour|a day|rate|charge|bill|invoice|price)\b",
                        re.I)


def target_income(line: str) -> tuple[float, str | None] | None:
    """The yearly income the line says the asker wants, and its currency if it says one, else None."""
    if _SALARY.search(line) or not _ASKS_RATE.search(line):
        return None
    for m in _AMOUNT.finditer(line):
        value = float(m.group("num").replace(",", ""))
        if m.group("k"):
            value *= 1000
        if not 10_000 <= value <= 10_000_000:
            continue  # a day rate, a percentage or a year, not a yearly income
        before, after = line[max(0, m.start() - 40):m.start()], line[m.end():]
        if not (_WANT.search(before) or _YEARLY.match(after)):
            continue
        code = _SYMBOLS.get(m.group("sym") or "") or _WORDS.get((m.group("word") or "").lower())
        return value, code
    return None


def calculator_note(line: str, place: str | None = None) -> str | None:
    """A note that works the asker's target income through the calculator's formula (no overhead, no
    tax, the calculator's default billable days), or None when the line names no target income."""
    found = target_income(line)
    if found is None:
        return None
    income, code = found
    code = code or _PLACES.get(place or "")
    result = rate_calc(income=income, currency=code or "XXX")
    money = (lambda x: f"{amount(x, cents=True)} {code}") if code else (lambda x: amount(x, cents=True))
    whole = f"{amount(income)} {code}" if code else amount(income)
    return (f"For your figure: {whole} a year over {DEFAULT_BILLABLE_DAYS} billable days is "
            f"{money(result['day_rate'])} a day, or {money(result['hour_rate'])} an hour at "
            f"{DEFAULT_HOURS_PER_DAY:g} hours, before overhead and tax. The rate calculator (`rate calc`) adds "
            "your overhead, tax share and billable days.")
