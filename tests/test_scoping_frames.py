"""Project frames on generated data: forecasting, text, recommender, rare positives, and tabular controls.

Each case is a small, realistic table made here (numpy, fixed seeds); the report is built in process.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.config import load_settings
from bot.errors import InputError
from bot.scoping import forecast as fc
from bot.scoping.report import build_report
from bot.scoping.worker import ScopeRequest
from tests.conftest import make_core


def _settings(tmp_path, **overrides):
    return load_settings(data_dir=tmp_path / "data", env={}, overrides=overrides)


def _scope(tmp_path, df: pd.DataFrame, target: str | None, name: str = "data.csv", budget: float = 20, **kw):
    path = tmp_path / name
    df.to_csv(path, index=False)
    request = ScopeRequest(path=str(path), data=None, filename=name, target=target, budget=budget, chart=False, **kw)
    report, _ = build_report(request, _settings(tmp_path))
    return report


def _models(report) -> dict[str, dict]:
    return {b["model"]: {k: v["mean"] for k, v in b["scores"].items()} for b in report["baselines"]}


# Forecasting ---------------------------------------------------------------------------------------


def store_sales(seed: int = 0, stores: int = 5, days: int = 500) -> pd.DataFrame:
    """Daily sales per store: a store level, a weekly pattern, a slow trend, promotions and noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-03-01", periods=days, freq="D")
    rows = []
    for s in range(stores):
        level = rng.uniform(200, 2000)
        weekly = 1 + 0.3 * np.sin(2 * np.pi * (np.arange(days) % 7) / 7 + s)
        trend = 1 + 0.0006 * np.arange(days)
        promo = rng.random(days) < 0.1
        sales = level * weekly * trend * np.where(promo, 1.25, 1.0) * rng.lognormal(0, 0.05, days)
        rows.append(pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "store": f"S{s:02d}",
                                  "promo": promo.astype(int), "sales": sales.round(1)}))
    return pd.concat(rows).sort_values(["date", "store"]).reset_index(drop=True)


def test_daily_sales_per_store_are_a_forecast_with_naive_baselines(tmp_path):
    report = _scope(tmp_path, store_sales(), "sales", budget=60)
    assert report["frame"] == "forecasting" and "store" in report["frame_reason"]
    assert report["cv"]["kind"] == "time_backtest" and report["cv"]["horizon"] >= 7
    models = _models(report)
    assert {"last_value_naive", "seasonal_naive_weekly", "gradient_boosting_lags"} <= set(models)
    assert report["metric"] == "wape" and report["higher_is_better"] is False
    assert report["dummy_model"] == "last_value_naive"
    for scores in models.values():
        assert {"mae", "rmse", "wape", "mase", "r2"} <= set(scores)
    # the weekly pattern is there to learn: the seasonal naive beats the last value, boosting beats both
    assert models["seasonal_naive_weekly"]["wape"] < models["last_value_naive"]["wape"]
    assert report["best"]["model"] == "gradient_boosting_lags"
    assert report["best"]["score"] < models["seasonal_naive_weekly"]["wape"]
    assert report["learning_curve"][-1]["score"] == report["best"]["score"]
    assert any("known for the forecast period" in n for n in report["frame_notes"])  # promo is a covariate
    names = [p["name"] for p in report["estimate"]["phases"]]
    assert "forecast_design" in names


def test_a_forecast_never_sees_the_block_it_forecasts(tmp_path):
    df = store_sales(seed=3, stores=3, days=200)
    settings = _settings(tmp_path)
    from bot.scoping import report as R

    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    req = ScopeRequest(path=str(path), data=None, filename="s.csv", target="sales")
    options = R.check_request(req, settings.scope)
    loaded = R.load(req, settings.scope, lambda *a: None, None)
    found = R.understand(loaded, req, options, settings.scope)
    panel = fc.build_panel(loaded.table.frame, found.target.rows, found.target.y, found.frame.time, None,
                           np.zeros(0, bool), 0)
    backtest = fc.plan_backtest(panel, 3)
    origin = backtest.origins[0]
    for spec in fc.specs(panel, backtest):
        before = fc.forecast(spec, panel, origin, backtest.horizon, 0)
        panel.Y[:, origin:] *= 1000.0  # poison everything from the block on
        after = fc.forecast(spec, panel, origin, backtest.horizon, 0)
        panel.Y[:, origin:] /= 1000.0
        np.testing.assert_allclose(before, after, err_msg=spec.name)


def test_a_single_monthly_series_gets_a_yearly_seasonal_naive(tmp_path):
    rng = np.random.default_rng(1)
    months = pd.date_range("2015-01-01", periods=96, freq="MS")
    season = 1 + 0.4 * np.sin(2 * np.pi * np.arange(96) / 12)
    df = pd.DataFrame({"month": months.strftime("%Y-%m-%d"),
                       "bookings": (5000 * season * rng.lognormal(0, 0.03, 96)).round()})
    report = _scope(tmp_path, df, "bookings")
    assert report["frame"] == "forecasting"
    assert "seasonal_naive_yearly" in _models(report)
    assert report["frame_details"]["frequency"] == "monthly"


def test_irregular_dated_rows_stay_tabular(tmp_path):
    """House sales with a sale date are one row per case, not a time series."""
    rng = np.random.default_rng(2)
    n = 600
    days = np.sort(rng.integers(0, 1500, n))
    size = rng.normal(120, 30, n).clip(30)
    df = pd.DataFrame({"sold_on": (pd.Timestamp("2019-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d"),
                       "area_m2": size.round(1), "rooms": rng.integers(1, 7, n),
                       "price": (size * 3000 + rng.normal(0, 30000, n)).round()})
    report = _scope(tmp_path, df, "price")
    assert report["frame"] == "tabular"


def test_forced_frames_say_what_they_need(tmp_path):
    df = store_sales(stores=2, days=120)
    tab = _scope(tmp_path, df, "sales", frame="tabular")
    assert tab["frame"] == "tabular" and tab["frame_reason"].startswith("Forced")
    no_dates = pd.DataFrame({"x": np.arange(50.0), "y": np.arange(50.0) % 7})
    with pytest.raises(InputError, match="needs a numeric target and a date"):
        _scope(tmp_path, no_dates, "y", name="nodates.csv", frame="forecasting")
    with pytest.raises(InputError, match="unknown frame"):
        _scope(tmp_path, no_dates, "y", name="nodates.csv", frame="astrology")


# Recommender ---------------------------------------------------------------------------------------


def ratings(seed: int = 0, users: int = 400, items: int = 120, per_user: int = 25, rank: int = 3) -> pd.DataFrame:
    """Star ratings from user and item biases plus a low-rank taste term (what matrix factorisation finds)."""
    rng = np.random.default_rng(seed)
    bu, bi = rng.normal(0, 0.5, users), rng.normal(0, 0.7, items)
    P, Q = rng.normal(0, 0.6, (users, rank)), rng.normal(0, 0.6, (items, rank))
    rows = []
    for u in range(users):
        for i in rng.choice(items, per_user, replace=False):
            score = 3.4 + bu[u] + bi[i] + P[u] @ Q[i] + rng.normal(0, 0.4)
            rows.append((f"u{u:04d}", f"film-{i:03d}", int(np.clip(np.rint(score), 1, 5)), rng.choice(["web", "app"])))
    df = pd.DataFrame(rows, columns=["member", "title", "stars", "channel"])
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)


def test_a_rating_table_without_a_named_target_is_a_recommender(tmp_path):
    report = _scope(tmp_path, ratings(), None)
    assert report["frame"] == "recommender" and report["target"] == "stars"
    assert report["task"] == "regression" and report["metric"] == "rmse"
    assert report["cv"]["kind"] == "interaction_kfold"
    models = _models(report)
    assert {"global_mean", "user_item_bias", "matrix_factorisation_als"} <= set(models)
    assert models["user_item_bias"]["rmse"] < models["global_mean"]["rmse"]
    # the taste term is low-rank: factorisation finds what biases alone cannot
    assert models["matrix_factorisation_als"]["rmse"] < models["user_item_bias"]["rmse"]
    notes = " ".join(report["frame_notes"])
    assert "Cold start" in notes and "Ranking metrics" in notes and "Implicit feedback" in notes
    assert {"interaction_data", "ranking_evaluation"} <= {p["name"] for p in report["estimate"]["phases"]}
    # the user and item columns are the recommender's inputs: no "identifier left out" or "rows of one ID"
    # warning about them (the folds hold out interactions, not users)
    flagged = {(w["code"], w["column"]) for w in report["warnings"]}
    assert not flagged & {(code, col) for code in ("id_column", "leak_entity") for col in ("member", "title")}


def test_repeat_customers_with_a_category_are_not_a_recommender(tmp_path):
    rng = np.random.default_rng(4)
    n = 3000
    customer = rng.integers(0, 300, n)
    df = pd.DataFrame({"customer": [f"C{c:04d}" for c in customer],
                       "region": rng.choice(["north", "south", "east", "west"], n),
                       "basket": rng.gamma(2, 30, n).round(2)})
    df["returned"] = np.where(rng.random(n) < 0.2 + 0.002 * df["basket"].clip(0, 100), "yes", "no")
    report = _scope(tmp_path, df, "returned")
    assert report["frame"] == "tabular"


# Layouts read into the long form ---------------------------------------------------------------------


def _monthly(rng, months: int = 36) -> tuple[pd.DatetimeIndex, np.ndarray]:
    t = pd.date_range("2021-01-01", periods=months, freq="MS")
    return t, 1 + 0.3 * np.sin(2 * np.pi * t.month / 12) + 0.01 * np.arange(months)


def test_a_wide_sheet_of_months_is_read_as_one_series_per_row(tmp_path):
    """One row per product and one column per month ("Jan 2021" ...): forecast per product, the values
    being the target, with a warning that says how the sheet was read."""
    rng = np.random.default_rng(8)
    t, shape = _monthly(rng)
    rows = [{"product": f"P{p:03d}", "family": rng.choice(["toys", "food"]),
             **{m.strftime("%b %Y"): round(float(v), 1) for m, v in zip(t, rng.uniform(20, 300) * shape
                                                                       + rng.normal(0, 3, len(t)), strict=True)}}
            for p in range(30)]
    report = _scope(tmp_path, pd.DataFrame(rows), None)
    assert report["frame"] == "forecasting" and report["target"] == "value" and report["rows"] == 30 * 36
    assert report["cv"]["kind"] == "time_backtest"
    assert any(b["model"] == "seasonal_naive_yearly" for b in report["baselines"])
    wide = next(w for w in report["warnings"] if w["code"] == "wide_layout")
    assert "36 columns are periods" in wide["message"] and "`Jan 2021`" in wide["message"]
    # a target named among the other columns keeps the sheet as it is
    kept = _scope(tmp_path, pd.DataFrame(rows), "family")
    assert kept["frame"] != "forecasting" and not any(w["code"] == "wide_layout" for w in kept["warnings"])


def test_a_date_split_over_year_and_month_is_one_time_index(tmp_path):
    """`year` and `month` columns and no date: one `period` column in their place, so the seasonal target
    is forecast by time (not a tabular fit whose `month` looks like a leak)."""
    rng = np.random.default_rng(9)
    t, shape = _monthly(rng)
    df = pd.DataFrame([{"year": m.year, "month": m.month, "region": r, "orders": round(float(base * s_ + rng.normal(0, 5)))}
                       for r, base in (("north", 600), ("south", 800), ("east", 500)) for m, s_ in zip(t, shape, strict=True)])
    report = _scope(tmp_path, df, "orders")
    assert report["frame"] == "forecasting" and report["cv"]["kind"] == "time_backtest"
    codes = {(w["code"], w["column"]) for w in report["warnings"]}
    assert ("date_parts_combined", "period") in codes and not any(c.startswith("leak") for c, _ in codes)
    # a model year beside other columns, with no month, stays a feature of a tabular file
    cars = pd.DataFrame({"year": rng.integers(2005, 2024, 400), "km": rng.integers(1000, 200000, 400)})
    cars["price"] = 30000 - 900 * (2024 - cars["year"]) - 0.05 * cars["km"] + rng.normal(0, 500, 400)
    plain = _scope(tmp_path, cars, "price")
    assert plain["frame"] == "tabular" and not any(w["code"] == "date_parts_combined" for w in plain["warnings"])


@pytest.mark.parametrize("name,encode", [
    ("Date", lambda t: (t - pd.Timestamp("1899-12-30")).days),                       # Excel serial days
    ("created_at", lambda t: t.values.astype("datetime64[s]").astype("int64")),      # Unix seconds
])
def test_dates_written_as_numbers_in_a_date_column_are_dates(tmp_path, name, encode):
    """An export that writes its dates as Excel serial days or Unix seconds, in a column named as a date:
    read as dates (a daily forecast), not as an identifier whose order "leaks"; a count of days stays a number."""
    rng = np.random.default_rng(10)
    t = pd.date_range("2022-01-03", periods=500, freq="D")
    y = 200 + 40 * np.sin(2 * np.pi * np.asarray(t.day_of_week) / 7) + 0.1 * np.arange(500) + rng.normal(0, 8, 500)
    df = pd.DataFrame({name: encode(t), "days_active": rng.integers(1, 400, 500), "units": y.round()})
    report = _scope(tmp_path, df, "units")
    assert report["frame"] == "forecasting" and report["cv"]["kind"] == "time_backtest"
    codes = {(w["code"], w["column"]) for w in report["warnings"]}
    assert ("numeric_dates", name) in codes and ("numeric_dates", "days_active") not in codes
    assert not {("id_column", name), ("leak_identifier", name)} & codes


# Text ----------------------------------------------------------------------------------------------


def reviews(seed: int = 0, n: int = 900) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    good = ["great", "love", "excellent", "fast delivery", "works perfectly", "recommend", "sturdy"]
    bad = ["broken", "refund", "disappointed", "stopped working", "poor quality", "late", "returned it"]
    filler = ["the", "product", "arrived", "box", "it", "was", "this", "after", "a", "week", "and", "my", "order"]
    rows = []
    for _ in range(n):
        positive = rng.random() < 0.5
        words = list(rng.choice(filler, rng.integers(6, 14)))
        words += list(rng.choice(good if positive else bad, rng.integers(1, 3)))
        if rng.random() < 0.15:  # some reviews carry a word of the other side
            words.append(rng.choice(bad if positive else good))
        rng.shuffle(words)
        rows.append((" ".join(words).capitalize() + ".", rng.choice(["web", "app", "store"]),
                     int(rng.integers(1, 30)), "positive" if positive else "negative"))
    return pd.DataFrame(rows, columns=["review", "channel", "days_owned", "sentiment"])


def test_free_text_is_modelled_with_tfidf_inside_the_folds(tmp_path):
    report = _scope(tmp_path, reviews(), "sentiment")
    assert report["frame"] == "text" and "review" in report["features"]["text"]
    assert "review" not in {e["column"] for e in report["features"]["excluded"]}
    models = _models(report)
    assert "tfidf_linear" in models
    assert models["tfidf_linear"]["roc_auc"] > models["linear"]["roc_auc"] + 0.2
    assert report["best"]["model"].startswith("tfidf")
    assert not any(w["code"] == "free_text" and w["column"] == "review" for w in report["warnings"])
    assert "text_preparation" in {p["name"] for p in report["estimate"]["phases"]}


# Rare positives ------------------------------------------------------------------------------------


def claims(seed: int = 0, n: int = 8000, share: float = 0.008) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(7, 1, n)
    delay = rng.integers(0, 60, n)
    risk = 0.002 + share * 2 * (delay > 30) * (amount > np.median(amount)) * 3
    fraud = (rng.random(n) < np.clip(risk, 0, 1)).astype(int)
    return pd.DataFrame({"amount": amount.round(2), "days_to_report": delay,
                         "channel": rng.choice(["phone", "web", "broker"], n), "fraud": fraud})


def test_rare_positives_are_headlined_by_pr_auc_with_the_base_rate(tmp_path):
    df = claims()
    share = df["fraud"].mean()
    assert 0.002 < share < 0.02
    report = _scope(tmp_path, df, "fraud")
    assert report["frame"] == "tabular" and "rare" in report["frame_reason"]
    assert report["metric"] == "pr_auc"
    assert report["best"]["base_rate"] == pytest.approx(share, abs=1e-4)
    assert report["best"]["std"] is not None
    assert report["dummy"] == pytest.approx(share, rel=0.05)  # a constant score's average precision
    assert report["best"]["score"] > 2 * share


def test_a_sample_keeps_every_positive_and_weights_the_negatives_back(tmp_path):
    df = claims(seed=5, n=12_000)
    path = tmp_path / "claims.csv"
    df.to_csv(path, index=False)
    settings = load_settings(data_dir=tmp_path / "data", env={}, overrides={"scope.selection_sample_rows": 3000})
    report, _ = build_report(ScopeRequest(path=str(path), data=None, filename="claims.csv", target="fraud",
                                          budget=20, chart=False), settings)
    assert "every positive kept" in report["selection"]["note"]
    assert report["selection"]["rows"] >= 3000
    # with the negatives weighted back, a constant scorer's average precision is the full data's base rate
    assert report["dummy"] == pytest.approx(df["fraud"].mean(), rel=0.05)


# Leaks and plumbing --------------------------------------------------------------------------------


def test_the_score_with_a_leak_is_shown_beside_the_headline_as_not_credible(tmp_path):
    rng = np.random.default_rng(6)
    n = 2000
    tenure = rng.integers(1, 72, n)
    spend = rng.normal(60, 20, n).round(2)
    churn = (rng.random(n) < 1 / (1 + np.exp(0.05 * tenure - 0.02 * (spend - 60)))).astype(int)
    refund = np.where(churn == 1, np.where(rng.random(n) < 0.9, rng.uniform(5, 80, n).round(2), np.nan), np.nan)
    df = pd.DataFrame({"tenure_months": tenure, "monthly_spend": spend, "refund_amount": refund, "churned": churn})
    report = _scope(tmp_path, df, "churned", budget=60)
    assert any("leak" in w["code"] and w["column"] == "refund_amount" for w in report["warnings"])
    leaky = report["best"]["with_leaks"]
    assert leaky["credible"] is False and "refund_amount" in leaky["columns"]
    assert leaky["score"] > report["best"]["score"] + 0.1
    assert "not credible" in leaky["reason"]
    assert report["estimate"].get("range_notes") and "leak" in report["estimate"]["range_notes"][0]


def test_core_scope_takes_a_frame(tmp_path):
    path = tmp_path / "ratings.csv"
    ratings(users=120, items=60, per_user=15).to_csv(path, index=False)
    core = make_core(tmp_path / "data")
    report = core.scope(path=path, target="stars", budget=10, frame="tabular")["report"]
    assert report["frame"] == "tabular"
    report = core.scope(path=path, budget=10)["report"]
    assert report["frame"] == "recommender"
