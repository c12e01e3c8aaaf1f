"""Study-design cues (bot/scoping/design.py): censored outcomes, experiment arms, ordered classes;
warnings only, and none on ordinary tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.config import Scope
from bot.scoping.convert import convert_table
from bot.scoping.design import design_warnings
from bot.scoping.load import load_table
from bot.scoping.profile import profile_table
from bot.scoping.target import build_target

LIMITS = Scope()


def cues(df: pd.DataFrame, target: str) -> dict[str, str]:
    table = convert_table(load_table(path=None, data=df.to_csv(index=False).encode(), filename="x.csv",
                                     limits=LIMITS), LIMITS)
    profile = profile_table(table)
    t = build_target(table.frame, profile, table.display, target, "auto", LIMITS)
    return {w["code"]: w["column"] for w in design_warnings(table.frame, profile, t, table.display, LIMITS.frames)}


def test_a_yes_no_outcome_beside_time_on_the_books_is_censored():
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({"age": rng.integers(20, 80, n), "plan": rng.choice(["basic", "pro"], n),
                       "tenure_months": rng.uniform(1, 60, n).round(1), "churned": rng.integers(0, 2, n)})
    assert cues(df, "churned") == {"censored_outcome": "tenure_months"}
    # a regression target, or no duration column: nothing
    assert cues(df.rename(columns={"tenure_months": "monthly_fee"}), "churned") == {}
    # a standardised tenure (negative values) is a score, not a time span
    assert cues(df.assign(tenure_months=rng.normal(size=n).round(3)).rename(columns={"tenure_months": "tenure_z"}),
                "churned") == {}


def test_experiment_arms_are_told_by_values_or_by_name():
    rng = np.random.default_rng(1)
    n = 800
    df = pd.DataFrame({"device": rng.choice(["mobile", "desktop"], n), "variant": rng.choice(["control", "treatment"], n),
                       "converted": rng.integers(0, 2, n)})
    assert cues(df, "converted") == {"experiment_design": "variant"}
    named = df.assign(variant=rng.choice(["A", "B"], n)).rename(columns={"variant": "ab_group"})
    assert cues(named, "converted") == {"experiment_design": "ab_group"}
    # customer tiers A / B / C in a column not named like an arm are no experiment
    tiers = df.drop(columns="variant").assign(tier=rng.choice(["A", "B", "C"], n))
    assert cues(tiers, "converted") == {}


def test_ordered_numeric_classes_are_named_and_unordered_ones_are_not():
    rng = np.random.default_rng(2)
    n = 900
    df = pd.DataFrame({"wait": rng.exponential(10, n).round(1), "satisfaction": rng.integers(1, 6, n)})
    found = cues(df, "satisfaction")
    assert found == {"ordered_classes": "satisfaction"}
    df = df.assign(satisfaction=rng.choice(["billing", "delivery", "returns"], n))
    assert cues(df, "satisfaction") == {}


def test_latitude_and_longitude_columns_are_spatial_data():
    rng = np.random.default_rng(3)
    n = 700
    df = pd.DataFrame({"latitude": rng.uniform(51.3, 51.7, n).round(5), "longitude": rng.uniform(-0.5, 0.2, n).round(5),
                       "bedrooms": rng.integers(1, 6, n), "price": rng.gamma(5, 60_000, n).round(-3)})
    assert cues(df, "price") == {"spatial_data": "latitude"}
    # a 'long' column that is no longitude (a count far out of range) is not a coordinate
    df = df.rename(columns={"latitude": "lat"}).assign(longitude=rng.integers(200, 900, n))
    assert cues(df, "price") == {}
