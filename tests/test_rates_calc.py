"""The rate calculator against hand-worked examples, and its input checks."""

from __future__ import annotations

import math

import pytest

from bot.errors import InputError
from bot.rates.calc import rate_calc
from bot.rates.render import calc_markdown


def _step(result, label_start):
    return next(s["value"] for s in result["steps"] if s["label"].startswith(label_start))


def test_income_overhead_tax_worked_example():
    # By hand: (80,000 + 12,000) / (1 - 0.30) = 131,428.571...; / 180 = 730.1587...; / 7.5 = 97.3545...
    # (rates rounded up to the penny: 730.16 and 97.36)
    r = rate_calc(income=80000, currency="GBP", overhead=12000, tax=0.30, billable_days=180, hours_per_day=7.5)
    assert r["revenue"] == 131428.57
    assert r["day_rate"] == 730.16
    assert r["hour_rate"] == 97.36
    assert r["currency"] == "GBP"
    assert _step(r, "Income + overhead") == 92000.00
    assert _step(r, "Of which tax") == 39428.57  # 131,428.57 x 0.30: what is left is exactly the 92,000 needed
    assert r["assumptions"]["billable_hours"] == 1350
    assert [s["value"] for s in r["steps"]][-2:] == [730.16, 97.36]


def test_overhead_share_gives_the_same_result_and_shows_the_step():
    # 15% of 80,000 is 12,000: the same rates as the amount version.
    r = rate_calc(income=80000, currency="gbp", overhead_share=0.15, tax=0.30, billable_days=180, hours_per_day=7.5)
    assert r["currency"] == "GBP"
    assert _step(r, "Overhead = income") == 12000.00
    assert (r["revenue"], r["day_rate"], r["hour_rate"]) == (131428.57, 730.16, 97.36)
    assert r["assumptions"]["overhead_share"] == 0.15


def test_zero_tax_and_no_overhead():
    # 60,000 / 1 = 60,000; / 200 days = 300.00; / 8 h = 37.50
    r = rate_calc(income=60000, currency="EUR", tax=0.0, billable_days=200, hours_per_day=8)
    assert (r["revenue"], r["day_rate"], r["hour_rate"]) == (60000.0, 300.0, 37.5)
    assert _step(r, "Of which tax") == 0.0


def test_malt_like_social_charges_and_179_days():
    # (50,000 + 5,000) / (1 - 0.246) = 72,944.297...; / 179 = 407.510...; / 7 = 58.2157... (rates rounded up)
    r = rate_calc(income=50000, currency="EUR", overhead=5000, tax=0.246, billable_days=179, hours_per_day=7)
    assert (r["revenue"], r["day_rate"], r["hour_rate"]) == (72944.30, 407.52, 58.22)


def test_floor_rates_cover_the_income_they_come_from():
    # 60,000 / 180 = 333.333...: 333.33 a day would bill 59,999.40; rounded up, 333.34 bills 60,001.20.
    r = rate_calc(income=60000, currency="GBP", billable_days=180, hours_per_day=7.5)
    assert r["day_rate"] == 333.34 and r["hour_rate"] == 44.45
    for income, days, hours, cur in [(60000, 180, 7.5, "GBP"), (77777, 173, 7, "EUR"), (1234567, 211, 8, "JPY"),
                                     (45000.5, 199.5, 6.5, "KWD"), (99999, 366, 7.25, "USD")]:
        r = rate_calc(income=income, currency=cur, billable_days=days, hours_per_day=hours)
        assert r["day_rate"] * days >= r["revenue"] and r["hour_rate"] * hours * days >= r["revenue"], (income, cur)
    assert rate_calc(income=1234567, currency="JPY", billable_days=211)["day_rate"] == 5852  # 5,851.03 rounded up to a whole yen
    assert "£333.34" in calc_markdown(rate_calc(income=60000, currency="GBP", billable_days=180))


def test_defaults_and_none_mean_default():
    r = rate_calc(income=90000, currency="USD", tax=None, billable_days=None, hours_per_day=None)
    assert r["assumptions"]["billable_days"] == 180
    assert r["assumptions"]["hours_per_day"] == 7.5
    assert r["day_rate"] == 500.0
    assert math.isclose(r["hour_rate"], 66.67)


@pytest.mark.parametrize("kwargs, words", [
    ({"income": 0}, "income"),
    ({"income": -5}, "income"),
    ({"income": float("nan")}, "finite"),
    ({"income": "lots"}, "number"),
    ({"tax": 1.0}, "tax"),
    ({"tax": -0.1}, "tax"),
    ({"billable_days": 0}, "billable days"),
    ({"billable_days": 367}, "billable days"),
    ({"hours_per_day": 0}, "hours per day"),
    ({"overhead": -1}, "overhead"),
    ({"overhead_share": 1.5}, "overhead share"),
    ({"overhead": 100, "overhead_share": 0.1}, "not both"),
    ({"currency": "pounds"}, "3-letter"),
    ({"currency": "£"}, "3-letter"),
])
def test_bad_inputs_raise_input_error_naming_the_value(kwargs, words):
    args = {"income": 80000, "currency": "GBP", **kwargs}
    with pytest.raises(InputError) as err:
        rate_calc(**args)
    assert words in str(err.value)


def test_markdown_shows_every_step():
    r = rate_calc(income=80000, currency="GBP", overhead=12000, tax=0.3, billable_days=180, hours_per_day=7.5)
    md = calc_markdown(r)
    assert "£730.16" in md and "£97.36" in md and "£131,428.57" in md
    assert md.count("\n1. ") == 1 and "5. " in md


@pytest.mark.parametrize(("line", "found"), [
    ("i want to make 90k a year, how do i turn that into a day rate", (90000.0, None)),
    ("how do i work out my hourly if i want 100k take home", (100000.0, None)),
    ("i need £80,000 a year, what day rate should i charge", (80000.0, "GBP")),
    ("what should i charge if i'm aiming for 60k euros", (60000.0, "EUR")),
    # a salary to compare with, a day rate, a year or a count is no target income
    ("US data scientist salary is like 120k, what does that translate to as a freelance hourly", None),
    ("is £450/day lowballing myself", None),
    ("what day rate should i charge in 2026", None),
    ("the client has 12,000 users, what should i charge", None),
])
def test_a_target_income_is_read_from_a_rates_question(line, found):
    from bot.rates.income import target_income

    assert target_income(line) == found


def test_the_calculator_note_works_the_askers_figure_through_the_formula():
    from bot.rates.income import calculator_note

    note = calculator_note("i want to make 90k a year, what day rate?", "united kingdom")
    assert note.startswith("For your figure: 90,000 GBP a year over 180 billable days is 500.00 GBP a day")
    assert "66.67 GBP an hour" in note and "before overhead and tax" in note
    assert calculator_note("what's a good day rate in the uk?") is None


def test_a_rates_answer_carries_the_calculator_note_for_the_askers_income(full_kb_data_dir):
    from tests.conftest import make_core

    result = make_core(full_kb_data_dir).ask("i want to make 90k a year, how do i turn that into a day rate",
                                             user_id="inc1")
    assert not result["declined"]
    assert any(n.startswith("For your figure: 90,000 a year over 180 billable days is 500.00 a day")
               for n in result["notes"]), result["notes"]
