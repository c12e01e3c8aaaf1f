"""Estimate (coefficients from skills/scoping.yaml), quote, chart and markdown (in process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.errors import InputError
from bot.scoping.estimate import (
    EstimateConfig,
    estimate,
    findings,
    lift_over_dummy,
    quote,
    validate_estimate_block,
)
from bot.scoping.plot import scope_chart
from bot.scoping.render import scope_markdown
from bot.skills.cards import load_skill
from bot.textsafe import display_name

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_block_is_valid_and_used():
    card = load_skill(ROOT / "skills" / "scoping.yaml")
    assert card.estimate is not None
    cfg = validate_estimate_block(card.estimate)
    assert cfg.base["data_preparation"][1] >= cfg.base["discovery"][1]
    assert validate_estimate_block(None) == EstimateConfig()


@pytest.mark.parametrize("block", [
    {"bases": {}},                                                    # unknown key
    {"base": {"discovery": [8, 4]}},                                  # low > high
    {"base": {"testing": [1, 2]}},                                    # unknown phase
    {"drivers": {"leakage": {"hours": {"modelling": [1]}}}},          # not [low, high]
    {"drivers": {"astrology": {"hours": {"modelling": [1, 2]}}}},     # unknown driver
    {"weak_lift": 3},
])
def test_bad_blocks_are_refused(block):
    with pytest.raises((ValueError, ValidationError)):
        validate_estimate_block(block)


def _report(**kw):
    base = {"rows": 1000, "columns": 12, "task": "binary", "cv": {"kind": "stratified_kfold"}, "warnings": []}
    base.update(kw)
    return base


def test_drivers_move_the_right_phases():
    cfg = EstimateConfig()
    clean = estimate(findings(_report(), lift=0.6, curve_rising=False, leaks=0, kinds={}, config=cfg), cfg)
    assert clean["hours_low"] == sum(v[0] for v in cfg.base.values())
    messy_report = _report(warnings=[{"code": "high_missing"}] * 3 + [{"code": "class_imbalance"}, {"code": "mixed_types"}],
                           cv={"kind": "time_series"}, rows=2_000_000)
    messy = estimate(findings(messy_report, lift=0.05, curve_rising=True, leaks=2, kinds={"text": 1}, config=cfg), cfg)
    by = {p["name"]: p for p in messy["phases"]}
    base = {p["name"]: p for p in clean["phases"]}
    assert by["data_preparation"]["hours_high"] > base["data_preparation"]["hours_high"]
    assert by["evaluation"]["hours_low"] > base["evaluation"]["hours_low"]
    assert any("leakage" in d for d in by["discovery"]["drivers"])
    assert any("weak lift" in d for d in by["modelling"]["drivers"])
    assert any("size" in d for d in by["modelling"]["drivers"])
    assert messy["hours_high"] > clean["hours_high"]


def test_calibration_changes_the_estimate():
    cfg = validate_estimate_block({"base": {"modelling": [20, 40]}, "drivers": {"leakage": {"hours": {"evaluation": [5, 5]}}}})
    out = estimate(findings(_report(), lift=0.5, curve_rising=False, leaks=1, kinds={}, config=cfg), cfg)
    by = {p["name"]: p for p in out["phases"]}
    assert by["modelling"]["hours_low"] == 20 and by["evaluation"]["hours_low"] == cfg.base["evaluation"][0] + 5


def test_lift_and_quote():
    assert lift_over_dummy("roc_auc", 0.75, 0.5) == pytest.approx(0.5)
    assert lift_over_dummy("r2", 0.4, 0.0) == pytest.approx(0.4)
    est = {"hours_low": 30, "hours_high": 60}
    assert quote(est, rate=100, unit="hour", currency="usd", hours_per_day=7.5)["low"] == 3000
    q = quote(est, rate=600, unit="day", currency="GBP", hours_per_day=7.5)
    assert (q["low"], q["high"], q["currency"]) == (2400, 4800, "GBP")
    for bad in ({"rate": -1, "unit": "day", "currency": "GBP"}, {"rate": 1, "unit": "week", "currency": "GBP"},
                {"rate": 1, "unit": "day", "currency": "@everyone"}):
        with pytest.raises(InputError):
            quote(est, hours_per_day=7.5, **bad)


HOSTILE = ["cost_$_usd_$", "$" + "{" * 50 + "$", "$\\undefinedmacro$", "@everyone", "# HUGE\n> q", "L" * 500,
           "emoji_\U0001F4B0", "z\u0336\u0334\u0335algo"]


def _fake_report() -> dict:
    names = [display_name(n) for n in HOSTILE]
    metric = "roc_auc"
    return {
        "rows": 100, "columns": len(names), "task": "binary", "target": names[3], "metric": metric,
        "cv": {"kind": "stratified_kfold", "folds": 5, "note": "shuffled"}, "dummy": 0.5,
        "baselines": [{"model": m, "scores": {metric: {"mean": s, "std": 0.02}}, "fit_seconds": 0.1}
                      for m, s in [("dummy", 0.5), ("linear", 0.8), ("hist_gradient_boosting", 0.83)]],
        "best": {"model": "hist_gradient_boosting", "score": 0.83},
        "warnings": [{"code": "high_missing", "column": names[0], "message": f"`{names[0]}` is 50% missing"}],
        "learning_curve": [{"train_size": 10, "score": 0.6}, {"train_size": 40, "score": 0.8}],
        "learning_curve_reading": "Still rising.",
        "estimate": {"phases": [{"name": "discovery", "hours_low": 4, "hours_high": 8, "drivers": ["x"]}],
                     "hours_low": 4, "hours_high": 8},
        "quote": None, "seconds": 1.0, "file": {"name": "f.csv"},
    }


def test_chart_renders_hostile_names_as_plain_text():
    rep = _fake_report()
    png = scope_chart(rep, [(display_name(n), 0.1 * i) for i, n in enumerate(HOSTILE)])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    import struct

    width, height = struct.unpack(">II", png[16:24])
    assert width >= 800 and height >= 600


def test_markdown_is_compact_and_safe():
    md = scope_markdown(_fake_report())
    assert "@everyone" not in md and "＠everyone`" in md
    assert "**Best:** `hist_gradient_boosting` ROC-AUC **0.830**" in md
    assert len(md) < 2500
    hand_made = _fake_report()
    hand_made["target"] = "@here `break` \u202e"
    md = scope_markdown(hand_made)
    assert "@here" not in md and "\u202e" not in md
