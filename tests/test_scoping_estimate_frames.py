"""The estimate follows the frame and the findings; the chart and the text share one headline; the quote
still prices a frame's report; the skill card types the estimate block."""

from __future__ import annotations

import numpy as np
import pytest

from bot.errors import ConfigError
from bot.rates.quote import build_quote
from bot.scoping import baselines as bl
from bot.scoping.estimate import EstimateConfig, estimate, findings
from bot.scoping.metrics import best_of, lift
from bot.scoping.plot import axis_range, chart_headline, scope_chart
from bot.scoping.render import headline_text, scope_markdown
from bot.skills.cards import load_skill
from tests.test_scoping_estimate import ROOT

CFG = EstimateConfig()


def _report(**kw):
    base = {"rows": 5000, "columns": 12, "task": "binary", "frame": "tabular", "cv": {"kind": "stratified_kfold"},
            "warnings": [], "metric": "roc_auc", "features": {"used": 8}}
    base.update(kw)
    return base


def _est(report, leaks=0, used=None):
    return estimate(findings(report, lift=0.5, curve_rising=False, leaks=leaks, kinds={}, config=CFG, used=used), CFG)


def test_each_frame_brings_its_own_phases_and_hours():
    tab = _est(_report())
    fc = _est(_report(frame="forecasting", task="regression", metric="wape",
                      frame_details={"n_series": 300, "frequency": "hourly"}))
    rec = _est(_report(frame="recommender", task="regression", metric="rmse",
                       frame_details={"users": 5000, "items": 20000, "users_under_3": 0.4, "items_under_3": 0.1}))
    txt = _est(_report(frame="text"))
    names = {k: [p["name"] for p in e["phases"]] for k, e in {"tab": tab, "fc": fc, "rec": rec, "txt": txt}.items()}
    assert names["tab"] == ["discovery", "data_preparation", "modelling", "evaluation", "deployment_handover"]
    assert "forecast_design" in names["fc"] and "text_preparation" in names["txt"]
    assert {"interaction_data", "ranking_evaluation"} <= set(names["rec"])
    drivers = " ".join(d for p in fc["phases"] for d in p["drivers"])
    assert "300 series" in drivers and "hourly" in drivers
    rec_drivers = " ".join(d for p in rec["phases"] for d in p["drivers"])
    assert "cold start" in rec_drivers and "20,000 items" in rec_drivers
    assert min(fc["hours_low"], rec["hours_low"], txt["hours_low"]) > tab["hours_low"]


def test_a_leak_adds_discovery_and_data_work_and_widens_the_range():
    clean, leaky = _est(_report()), _est(_report(), leaks=1)
    by_clean = {p["name"]: p for p in clean["phases"]}
    by_leaky = {p["name"]: p for p in leaky["phases"]}
    assert by_leaky["discovery"]["hours_low"] > by_clean["discovery"]["hours_low"]
    assert by_leaky["data_preparation"]["hours_low"] > by_clean["data_preparation"]["hours_low"]
    spread = lambda e: e["hours_high"] / e["hours_low"]  # noqa: E731
    assert spread(leaky) > spread(clean) * 1.15
    assert "leak" in leaky["range_notes"][0] and "range_notes" not in clean


def test_small_data_widens_the_range_and_says_so():
    small = _est(_report(rows=80))
    assert any("80 rows" in n for n in small["range_notes"])
    assert small["hours_high"] / small["hours_low"] > _est(_report())["hours_high"] / _est(_report())["hours_low"]


def test_columns_the_tool_dropped_add_no_hours():
    warns = [{"code": "mixed_types", "column": "legacy_id"}, {"code": "high_missing", "column": "legacy_id"},
             {"code": "duplicate_rows", "column": None}]
    counted = _est(_report(warnings=warns), used={"age", "plan"})
    all_counted = _est(_report(warnings=warns))
    assert counted["hours_high"] < all_counted["hours_high"]
    prep = {p["name"]: p for p in counted["phases"]}["data_preparation"]["drivers"]
    assert any("1 data-quality issue" in d for d in prep)  # the file-level duplicate rows still count


def test_errors_are_lower_is_better_everywhere():
    assert lift("wape", 0.05, 0.10) == pytest.approx(0.5)
    assert lift("rmse", 1.2, 1.0) == 0.0
    spec = bl.ModelSpec("m", "dummy")
    worse, better = bl.CVResult(spec, [{"rmse": 2.0}], 0, True), bl.CVResult(spec, [{"rmse": 1.0}], 0, True)
    assert best_of([worse, better], "rmse") is better
    assert axis_range("rmse", [900.0, 1200.0], [10.0, 20.0]) == (0.0, pytest.approx(1342.0))
    assert axis_range("roc_auc", [0.7, 0.8], [0.02, 0.01])[1] == 1.0


def _forecast_report():
    metric = "wape"
    rows = [("last_value_naive", 0.083), ("seasonal_naive_yearly", 0.056), ("gradient_boosting_lags", 0.021)]
    return {
        "rows": 2354, "columns": 5, "frame": "forecasting", "frame_reason": "weekly demand per region.",
        "task": "regression", "target": "demand", "metric": metric, "higher_is_better": False,
        "cv": {"kind": "time_backtest", "folds": 5, "note": "rolling origin"}, "dummy": 0.083,
        "dummy_model": "last_value_naive",
        "baselines": [{"model": m, "scores": {"wape": {"mean": s, "std": 0.004}, "mae": {"mean": s * 5e5, "std": 1.0},
                                              "mase": {"mean": s * 12, "std": 0.1}, "r2": {"mean": 0.9, "std": 0.01}},
                       "fit_seconds": 0.1} for m, s in rows],
        "best": {"model": "gradient_boosting_lags", "score": 0.021, "std": 0.004},
        "warnings": [{"code": "datetime_present", "column": "week", "message": "`week` is a date"}],
        "learning_curve": [{"train_size": 500, "score": 0.03}, {"train_size": 2000, "score": 0.021}],
        "learning_curve_reading": "Still rising.",
        "estimate": _est(_report(frame="forecasting", metric=metric, frame_details={"n_series": 9})),
        "quote": None, "seconds": 1.0, "file": {"name": "f.csv"}, "frame_notes": ["MASE divides ..."],
    }


def test_text_and_chart_share_one_headline_and_the_quote_prices_every_phase():
    rep = _forecast_report()
    text = headline_text(rep)
    assert "WAPE **2.1%**" in text and "vs last_value_naive 8.3%" in text and "MAE 10,500" in text
    assert chart_headline(rep) == text.replace("**", "").replace("`", "")
    assert text in scope_markdown(rep)
    assert scope_chart(rep, [("week", 0.0)]).startswith(b"\x89PNG")
    q = build_quote(rep, rate=600, unit="day", currency="GBP", contingency=0.1, deposit=0.2, hours_per_day=7.5)
    assert {p["name"] for p in q["phases"]} == {p["name"] for p in rep["estimate"]["phases"]}
    assert sum(m["amount_low"] for m in q["milestones"]) == pytest.approx(q["total_low"])
    assert "lower is better" in " ".join(q["success_criteria"])


def test_the_skill_card_types_the_estimate_block(tmp_path):
    card = load_skill(ROOT / "skills" / "scoping.yaml")
    assert isinstance(card.estimate, EstimateConfig)
    bad = (ROOT / "skills" / "scoping.yaml").read_text(encoding="utf-8").replace(
        "  weak_lift: 0.2", "  weak_lift: 0.2\n  frames: {forecasting: {phases: {Bad Name: [1, 2]}}}")
    (tmp_path / "scoping.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match="estimate"):
        load_skill(tmp_path / "scoping.yaml")


def test_multiclass_boosting_takes_a_many_valued_category():
    """Boosting of many classes bins at 63: its ordinal codes must fit (it used to fail: ValueError)."""
    rng = np.random.default_rng(0)
    n = 1500
    X = np.column_stack([rng.integers(0, 100, n).astype(float), rng.normal(size=n)])
    y = (X[:, 0] % 6).astype(int)
    spec = next(s for s in bl.candidates(n, 2, "multiclass", 6) if s.name == "hist_gradient_boosting")
    res = bl.run_cv(spec, X, y, [(np.arange(1000), np.arange(1000, n))], "multiclass", np.array([True, False]), 6,
                    None, 0, None)
    assert res.complete and res.mean("f1_macro") > 0.3  # chance is 1/6
