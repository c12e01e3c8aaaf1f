"""Working-day arithmetic: Monday to Friday, minus the configured holidays.

A span of `n` working days starting on a working day `start` ends on the n-th working day counted
from `start` itself (a 1-day phase starts and ends on the same day).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def is_working_day(day: date, holidays: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def next_monday(today: date) -> date:
    """The Monday after `today` (a week on, when today is a Monday)."""
    return today + timedelta(days=7 - today.weekday())


def first_working_day(day: date, holidays: Collection[date] = ()) -> date:
    """`day` itself when it is a working day, else the next working day."""
    while not is_working_day(day, holidays):
        day += ONE_DAY
    return day


def next_working_day(day: date, holidays: Collection[date] = ()) -> date:
    """The first working day after `day`."""
    return first_working_day(day + ONE_DAY, holidays)


def span_end(start: date, days: int, holidays: Collection[date] = ()) -> date:
    """The last day of a span of `days` working days (at least 1) starting on working day `start`."""
    end = first_working_day(start, holidays)
    for _ in range(max(1, days) - 1):
        end = next_working_day(end, holidays)
    return end


def skip_working_days(after: date, days: int, holidays: Collection[date] = ()) -> date:
    """The working day that follows `after` once `days` working days have passed (days=0: the next one)."""
    day = next_working_day(after, holidays)
    for _ in range(days):
        day = next_working_day(day, holidays)
    return day


def count_working_days(first: date, last: date, holidays: Collection[date] = ()) -> int:
    """Working days from `first` to `last`, both included."""
    n, day = 0, first
    while day <= last:
        n += is_working_day(day, holidays)
        day += ONE_DAY
    return n
