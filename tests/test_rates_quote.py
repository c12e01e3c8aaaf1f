"""Quotes: totals add up, milestone shares sum to exactly 1, cells are formula-safe, terms come from the scope."""

from __future__ import annotations

import copy
import random
from decimal import Decimal

import pytest

from bot.config import PROJECT_ROOT
from bot.errors import InputError
from bot.rates.quote import build_quote
from bot.rates.render import quote_markdown, quote_share_markdown
from bot.textsafe import spreadsheet_safe

SCOPE = {
    "id": "s-test1", "rows": 1200, "columns": 9, "task": "binary", "target": "churned", "metric": "roc_auc",
    "cv": "stratified 5-fold", "best": {"model": "hist_gradient_boosting", "score": 0.871},
    "dummy": {"model": "dummy", "score": 0.5},
    "warnings": [
        {"code": "leakage", "column": "cancel_date", "message": "cancel_date alone predicts the target."},
        {"code": "high_missing", "column": "last_login", "message": "last_login: 412 of 1200 missing."},
        {"code": "class_imbalance", "column": "churned", "message": "churned: 9% positive."},
        {"code": "datetime_present", "column": "signup", "message": "signup is a date."},
    ],
    "estimate": {"phases": [
        {"name": "discovery", "hours_low": 7.5, "hours_high": 15, "drivers": ["baseline"]},
        {"name": "data_preparation", "hours_low": 15, "hours_high": 30, "drivers": ["high_missing"]},
        {"name": "modelling", "hours_low": 22.5, "hours_high": 37.5, "drivers": ["class_imbalance"]},
        {"name": "evaluation", "hours_low": 7.5, "hours_high": 15, "drivers": []},
        {"name": "deployment_handover", "hours_low": 7.5, "hours_high": 22.5, "drivers": []},
    ], "hours_low": 60, "hours_high": 120},
}


def _quote(scope=None, **kw):
    args = {"rate": 600, "unit": "day", "currency": "GBP", "contingency": 0.15, "deposit": 0.3, "hours_per_day": 7.5}
    args.update(kw)
    return build_quote(copy.deepcopy(SCOPE if scope is None else scope), **args)


def D(x) -> Decimal:  # the decimal a JSON reader sees
    return Decimal(str(x))


def _check_sums(q):
    assert sum(D(p["price_low"]) for p in q["phases"]) == D(q["subtotal_low"])
    assert sum(D(p["price_high"]) for p in q["phases"]) == D(q["subtotal_high"])
    assert sum(D(p["price_low"]) for p in q["phases"]) + D(q["contingency"]["low"]) == D(q["total_low"])
    assert sum(D(p["price_high"]) for p in q["phases"]) + D(q["contingency"]["high"]) == D(q["total_high"])
    assert sum(D(m["share"]) for m in q["milestones"]) == 1
    assert all(0 <= m["share"] <= 1 for m in q["milestones"])
    assert sum(D(m["amount_low"]) for m in q["milestones"]) == D(q["total_low"])
    assert sum(D(m["amount_high"]) for m in q["milestones"]) == D(q["total_high"])


def test_worked_day_quote():
    q = _quote()
    # 7.5 h = 1 day at £600: days 8-16 -> £4,800-£9,600; +15% = £720-£1,440; totals £5,520-£11,040
    assert [(p["days_low"], p["days_high"]) for p in q["phases"]] == [(1, 2), (2, 4), (3, 5), (1, 2), (1, 3)]
    assert (q["subtotal_low"], q["subtotal_high"]) == (4800, 9600)
    assert q["contingency"] == {"share": 0.15, "low": 720, "high": 1440}
    assert (q["total_low"], q["total_high"]) == (5520, 11040)
    assert [m["share"] for m in q["milestones"]] == [0.3, 0.26, 0.32, 0.12]
    assert q["milestones"][0]["name"] == "Deposit"
    assert all(m["due"] for m in q["milestones"])
    assert "data-quality report" in q["milestones"][1]["due"]
    _check_sums(q)


def test_issue_keys_present():
    q = _quote()
    for key in ("currency", "unit", "rate", "phases", "contingency", "total_low", "total_high", "milestones",
                "assumptions", "exclusions", "ip_option", "markdown"):
        assert key in q
    assert {"name", "days_low", "days_high", "price_low", "price_high"} <= set(q["phases"][0])
    assert {"name", "share", "due"} <= set(q["milestones"][0])


def test_hourly_quote_prices_hours():
    q = _quote(rate=97.35, unit="hour", currency="EUR", contingency=0.2, deposit=0.333, hours_per_day=8)
    assert q["phases"][0]["price_low"] == 730.13  # 7.5 h x 97.35 = 730.125 -> 730.13 (half up)
    assert q["milestones"][0]["share"] == 0.333
    _check_sums(q)


def test_random_scopes_always_add_up():
    rng = random.Random(0)
    for _ in range(300):
        scope = copy.deepcopy(SCOPE)
        for p in scope["estimate"]["phases"]:
            low = round(rng.uniform(0, 40), rng.choice([0, 1, 2]))
            p["hours_low"], p["hours_high"] = low, round(low + rng.uniform(0, 60), rng.choice([0, 1, 2]))
        scope["estimate"]["phases"][2]["hours_high"] += 1  # never all zero
        q = _quote(scope, rate=round(rng.uniform(20, 1500), rng.choice([0, 2])), unit=rng.choice(["hour", "day"]),
                   contingency=round(rng.uniform(0, 0.5), rng.choice([2, 3])),
                   deposit=rng.choice([0, 0.1, 0.25, 0.3, 1 / 3, 0.5, 0.9]), hours_per_day=rng.choice([7, 7.5, 8]))
        _check_sums(q)


def test_zero_deposit_has_no_deposit_milestone():
    q = _quote(deposit=0)
    assert q["milestones"][0]["name"] != "Deposit"
    _check_sums(q)


def test_unknown_phase_gets_its_own_milestone():
    scope = copy.deepcopy(SCOPE)
    scope["estimate"]["phases"].append({"name": "labelling_support", "hours_low": 7.5, "hours_high": 7.5})
    q = _quote(scope)
    assert any("Labelling support" in m["name"] for m in q["milestones"])
    _check_sums(q)


def test_terms_come_from_the_scope():
    q = _quote()
    text = " ".join(q["assumptions"])
    assert "'cancel_date'" in text and "leakage" in text
    assert "'last_login'" in text and "time-ordered" in text
    assert any("missing values at source" in e for e in q["exclusions"])
    assert any("change order" in e for e in q["exclusions"])
    criteria = " ".join(q["success_criteria"])
    assert "ROC-AUC" in criteria and "0.871" in criteria and "0.500" in criteria
    assert "stratified 5-fold" in criteria


def test_ip_option_points_to_the_guides():
    ip = _quote()["ip_option"]
    assert ip["recommended"] == "assignment_on_full_payment"
    assert {o["name"] for o in ip["options"]} == {"assignment_on_full_payment", "licence_background_kept"}
    assert ip["guides"] == ["knowledge/ip/background-foreground-ip.md", "knowledge/ip/ml-assets-ownership.md"]
    assert "not legal advice" in ip["note"].lower()
    assert all((PROJECT_ROOT / g).is_file() for g in ip["guides"])


HOSTILE = copy.deepcopy(SCOPE)
HOSTILE["target"] = "=HYPERLINK(\"http://x\")"
HOSTILE["warnings"].append({"code": "numbers_as_text", "column": "+cmd|' /C calc'!A0", "message": "@SUM(1)"})
HOSTILE["estimate"]["phases"][0]["name"] = "=cmd|' /C calc'!A0"
HOSTILE["estimate"]["phases"][1]["drivers"] = ["-2+3+cmd|' /C calc'!A0", "@everyone", {"message": "+1+1"}]
HOSTILE["estimate"]["phases"][2]["drivers"] = ["=1+1"]


def _tables(md: str) -> list[list[list[str]]]:
    """Each markdown table as rows of cells (escaped pipes kept inside their cell)."""
    tables, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("| "):
            if not set(line) <= set("|-: "):
                inner = line.strip()[1:-1].replace("\\|", "\0")
                current.append([c.strip().replace("\0", "|") for c in inner.split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables


def test_markdown_cells_are_formula_safe_and_tables_keep_their_shape():
    md = quote_markdown(_quote(HOSTILE))
    tables = _tables(md)
    assert [len(t[0]) for t in tables] == [5, 5]  # phases and prices (day unit); milestones
    for t in tables:
        assert {len(row) for row in t} == {len(t[0])}  # no cell broke out of its column
        for row in t:
            for cell in row:
                assert spreadsheet_safe(cell) == cell, cell
                assert not cell.startswith(("=", "+", "@", "-2")), cell
    assert "@everyone" not in md
    assert "'=cmd" in md  # the hostile phase name is shown, neutralised


def test_markdown_reads_as_a_document():
    md = _quote()["markdown"]
    for heading in ("# Quote:", "## Phases and prices", "## Payment milestones", "## Success criteria",
                    "## Assumptions", "## Exclusions", "## Intellectual property"):
        assert heading in md
    assert "£11,040" in md and "| Total" in md


def test_share_markdown_has_no_rate_or_prices():
    q = _quote(rate=617.5)
    md = quote_share_markdown(q)
    assert "Discovery" in md and "30%" in md and "days" in md
    for secret in ("617", "£", "GBP", "churned", "cancel_date", str(q["total_high"])):
        assert secret not in md


@pytest.mark.parametrize("scope, kw, words", [
    ({"estimate": {"phases": []}}, {}, "no estimate phases"),
    ({}, {}, "no estimate phases"),
    ({"estimate": {"phases": [{"name": "discovery", "hours_low": 5, "hours_high": 2}]}}, {}, "hours_low"),
    ({"estimate": {"phases": [{"name": "discovery", "hours_low": "x", "hours_high": 2}]}}, {}, "number"),
    ({"estimate": {"phases": [{"name": "discovery", "hours_low": 0, "hours_high": 0}]}}, {}, "no hours"),
    (None, {"rate": 0}, "rate"),
    (None, {"rate": float("inf")}, "finite"),
    (None, {"unit": "week"}, "hour, day"),
    (None, {"currency": "pounds"}, "3-letter"),
    (None, {"deposit": 1.0}, "deposit"),
    (None, {"contingency": -0.1}, "contingency"),
])
def test_bad_quote_inputs(scope, kw, words):
    with pytest.raises(InputError) as err:
        _quote(scope if scope is not None else SCOPE, **kw)
    assert words in str(err.value)
