"""Leakage as a freelancer meets it: post-outcome values, missingness that encodes the target, IDs
whose order predicts it, judged against the other columns; and the gate: planted leaks found, no
false alarm on clean controls and scikit-learn's bundled datasets (evals/leak_cases.py; the full
calibration is evals/calibrate_leaks.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.config import Scope
from bot.scoping.convert import convert_table
from bot.scoping.leaks import leak_scan, leak_warnings
from bot.scoping.load import load_table
from bot.scoping.profile import profile_table
from bot.scoping.target import build_target
from tests.conftest import make_core

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evals"))
from leak_cases import clean_cases, leak_cases  # noqa: E402

LIMITS = Scope()
GATE_DETECTION = 0.7  # of the planted leaks in the small set (the full calibration prints the rates)


def scan(df: pd.DataFrame, target: str):
    table = convert_table(load_table(path=None, data=df.to_csv(index=False).encode(), filename="x.csv",
                                     limits=LIMITS), LIMITS)
    profile = profile_table(table)
    t = build_target(table.frame, profile, table.display, target, "auto", LIMITS)
    leaks = leak_scan(table.frame, profile, t, table.display, 0, LIMITS.leakage)
    return leaks, leak_warnings(leaks, table.display)


def subscriptions(rng: np.random.Generator, n: int = 6000) -> pd.DataFrame:
    tenure = rng.integers(1, 60, n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    tickets = rng.poisson(1.0, n)
    logit = -1.2 - 0.03 * tenure + 0.35 * tickets + (plan == "basic") * 0.5
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"account": rng.permutation(n) + 70_000, "tenure_months": tenure, "plan": plan,
                         "support_tickets": tickets, "churned": churned.astype(int)})


def test_a_value_set_only_after_the_outcome_is_a_post_outcome_leak():
    rng = np.random.default_rng(0)
    df = subscriptions(rng)
    refunded = (df.churned == 1) & (rng.random(len(df)) < 0.6) | (df.churned == 0) & (rng.random(len(df)) < 0.005)
    df["refund_issued"] = np.where(refunded, "yes", "no")
    leaks, warns = scan(df, "churned")
    assert [(lk.code, lk.column) for lk in leaks] == [("leak_post_outcome", "refund_issued")]
    lk = leaks[0]
    assert lk.evidence["coverage"] > 0.5 and lk.evidence["best_other"] in ("tenure_months", "support_tickets", "plan")
    assert "yes" in lk.reason and "after" in lk.reason
    assert warns[0]["code"] == "leak_post_outcome" and warns[0]["column"] == "refund_issued"


def test_a_weaker_post_outcome_leak_is_not_hidden_by_a_stronger_one():
    """A cancellation reason filled in for every churner singles out all of them, which used to make a
    refund amount paid to 60% of churners look unremarkable beside it; both are leaks."""
    rng = np.random.default_rng(1)
    df = subscriptions(rng)
    df["cancellation_reason"] = np.where(df.churned == 1, rng.choice(["price", "moved", "support"], len(df)), "")
    df["refund_amount"] = np.where((df.churned == 1) & (rng.random(len(df)) < 0.6),
                                   rng.uniform(5, 50, len(df)).round(2), 0.0)
    leaks, _ = scan(df, "churned")
    assert {lk.column for lk in leaks} == {"cancellation_reason", "refund_amount"}
    assert next(lk for lk in leaks if lk.column == "refund_amount").code == "leak_post_outcome"


def test_missingness_that_encodes_the_target_is_seen_in_a_mostly_empty_column():
    rng = np.random.default_rng(1)
    df = subscriptions(rng)
    closed = (df.churned == 1) & (rng.random(len(df)) < 0.9)
    df["cancelled_on"] = np.where(closed, "2024-03-01", "")
    assert df["cancelled_on"].eq("").mean() > 0.5
    leaks, _ = scan(df, "churned")
    assert [(lk.code, lk.column) for lk in leaks] == [("leak_missingness", "cancelled_on")]
    assert "filled in" in leaks[0].reason


def test_an_identifier_whose_order_predicts_the_target_is_reported():
    rng = np.random.default_rng(2)
    df = subscriptions(rng).sort_values("account").reset_index(drop=True)
    late = np.arange(len(df)) > 0.6 * len(df)  # a later cohort churns far more, and no column says so
    df["churned"] = (rng.random(len(df)) < np.where(late, 0.45, 0.12)).astype(int)
    leaks, warns = scan(df, "churned")
    assert [(lk.code, lk.column) for lk in leaks] == [("leak_identifier", "account")]
    assert "order predicts the target" in warns[0]["message"]


def test_a_repeated_entity_id_with_its_own_level_is_no_order_leak():
    """20 stores, each with its own sales level, numbered in no particular order: the store effect is
    real but the numbers say nothing, so no 'order predicts the target' finding (shuffling rows called
    the store effect an order)."""
    rng = np.random.default_rng(3)
    level = rng.uniform(200, 800, 20)
    store = np.repeat(np.arange(20), 100)
    df = pd.DataFrame({"store_id": [f"S{i:02d}" for i in store], "promo": rng.integers(0, 2, len(store)),
                       "units_sold": level[store] + rng.normal(0, 30, len(store))})
    leaks, _ = scan(df, "units_sold")
    assert "leak_identifier" not in {lk.code for lk in leaks}


def test_a_per_unit_figure_worked_out_from_the_target_is_a_product_leak():
    """Sale price = area x price per square metre: the per-unit column is flagged (it says little alone, the
    product says everything), the area it is divided by is not; a target only near a product of two
    inputs (revenue ~ visits x conversion x a noisy basket) raises nothing."""
    rng = np.random.default_rng(5)
    n = 2000
    area = rng.uniform(30, 200, n)
    price = area * rng.uniform(2500, 4000, n)
    df = pd.DataFrame({"area_sqm": area.round(1), "district": rng.choice(list("PQRST"), n),
                       "price_per_sqm": (price / area).round(0), "sale_price": price.round(-2)})
    leaks, warns = scan(df, "sale_price")
    assert [(lk.code, lk.column) for lk in leaks] == [("leakage", "price_per_sqm")]
    assert leaks[0].evidence["with"] == "area_sqm" and "per-unit" in warns[0]["message"]
    visits = rng.integers(100, 5000, n)
    rate = rng.uniform(0.01, 0.05, n)
    near = pd.DataFrame({"visits": visits, "conversion": rate.round(4),
                         "revenue": (visits * rate * rng.lognormal(3, 0.3, n)).round(2)})
    assert scan(near, "revenue")[0] == []


def test_a_dominant_input_beside_other_inputs_is_no_leak_but_a_column_from_the_outcome_is():
    """Price ~ size, less a discount: `size` alone reaches R2 0.94, far above every other column, yet the
    discount says something about the size that the price alone does not, so it is an input and stays in the
    baselines. The same table with a column worked out from the price (price plus noise, as dominant alone) is
    flagged: given the price, the other columns tell nothing more about it."""
    rng = np.random.default_rng(8)
    n = 1500
    size = rng.uniform(400, 4000, n)
    discount = rng.uniform(0, 30, n)
    price = 50 * size * (1 - discount / 200) + rng.normal(0, 10_000, n)
    df = pd.DataFrame({"size": size.round(), "discount": discount.round(1),
                       "fee": rng.uniform(0, 1500, n).round(2), "area": rng.choice(["oak", "pine", "elm"], n),
                       "sale_price": price.round(-2)})
    assert scan(df, "sale_price")[0] == []
    leak = df.drop(columns="size").assign(final_amount=(price + rng.normal(0, 0.25 * np.std(price), n)).round(2))
    leaks, _ = scan(leak, "sale_price")
    assert [(lk.code, lk.column) for lk in leaks] == [("leakage", "final_amount")]


def test_the_gate_planted_leaks_found_and_no_false_alarm_on_clean_data():
    found = total = 0
    alarms = []
    for case in clean_cases(sizes=(400,)) + leak_cases(sizes=(600,)):
        leaks, _ = scan(case.df, case.target)
        planted = case.leak[1] if case.leak else None
        alarms += [f"{case.name}: {lk.code} {lk.column}" for lk in leaks if lk.column != planted]
        if planted:
            total += 1
            found += planted in {lk.column for lk in leaks}
    assert not alarms
    assert found >= GATE_DETECTION * total, f"{found}/{total} planted leaks found"
    print(f"gate: {found}/{total} planted leaks found, no false alarm")


@pytest.mark.parametrize("cv", ["auto"])
def test_the_headline_leaves_the_leak_out_and_says_why(tmp_path, cv):
    rng = np.random.default_rng(3)
    df = subscriptions(rng, 3000)
    df["refund_issued"] = np.where((df.churned == 1) & (rng.random(len(df)) < 0.7), "yes", "no")
    path = tmp_path / "subs.csv"
    df.to_csv(path, index=False)
    report = make_core(tmp_path / "data").scope(path=path, target="churned", budget=6, cv=cv)["report"]
    assert {"column": "refund_issued", "reason": "leakage"} in report["features"]["excluded"]
    assert report["best"]["score"] < 0.85  # without the refund flag the churn is only partly predictable
    assert any(w["code"] == "leak_post_outcome" and w["column"] == "refund_issued" for w in report["warnings"])
