"""Real tables that ship inside packages (scikit-learn's bundled sets, palmerpenguins), through the
real worker: task and metric, best beats the dummy, the report's shape, the chart is a PNG; plus
validation choices (time-ordered, grouped), leakage, the quote and the Core entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine

from bot.config import Settings
from bot.scoping.render import scope_markdown
from bot.scoping.worker import ScopeRequest, ScopeRunner

BUDGET = 3.0
KEYS = {"rows", "columns", "task", "target", "metric", "cv", "baselines", "best", "dummy", "warnings",
        "learning_curve", "estimate", "quote", "seconds"}
PHASES = ["discovery", "data_preparation", "modelling", "evaluation", "deployment_handover"]


@pytest.fixture(scope="module")
def runner():
    r = ScopeRunner(Settings())
    r.warm()
    yield r
    r.close()


def _write(frame: pd.DataFrame, folder: Path, name: str) -> Path:
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def _scope(runner, path: Path, target: str | None = "target", **kw):
    req = ScopeRequest(path=str(path), data=None, filename=path.name, target=target, budget=kw.pop("budget", BUDGET), **kw)
    return runner.run(req, timeout=120)


def assert_shape(report: dict) -> None:
    assert set(report) >= KEYS
    assert report["metric"] == {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}[report["task"]]
    assert report["cv"]["kind"] in ("stratified_kfold", "kfold", "time_series", "group_kfold")
    assert report["cv"]["folds"] == 5 and report["cv"]["note"]
    assert report["baselines"][0]["model"] == "dummy"
    for b in report["baselines"]:
        assert set(b) == {"model", "scores", "fit_seconds"}
        assert set(b["scores"][report["metric"]]) == {"mean", "std"}
    assert set(report["best"]) >= {"model", "score"}
    assert isinstance(report["dummy"], float)
    for w in report["warnings"]:
        assert set(w) == {"code", "column", "message"}
    for p in report["learning_curve"]:
        assert set(p) == {"train_size", "score"}
    est = report["estimate"]
    assert [p["name"] for p in est["phases"]] == PHASES
    for p in est["phases"]:
        assert 0 <= p["hours_low"] <= p["hours_high"] and p["drivers"]
    assert est["hours_low"] == pytest.approx(sum(p["hours_low"] for p in est["phases"]), abs=0.6)
    json.dumps(report)


@pytest.mark.parametrize("loader, task, floor", [
    (load_breast_cancer, "binary", 0.97), (load_iris, "multiclass", 0.9), (load_wine, "multiclass", 0.9),
    (load_diabetes, "regression", 0.35),
])
def test_sklearn_datasets(runner, tmp_path, loader, task, floor):
    frame = loader(as_frame=True).frame
    path = _write(frame, tmp_path, f"{loader.__name__}.csv")
    res = _scope(runner, path)
    rep = res.report
    assert_shape(rep)
    assert rep["task"] == task and rep["rows"] == len(frame)
    assert rep["best"]["score"] > rep["dummy"] + 0.2 and rep["best"]["score"] >= floor
    assert rep["best"]["model"] != "dummy"
    assert res.chart_png.startswith(b"\x89PNG\r\n\x1a\n") and len(res.chart_png) > 10_000
    assert not any(w["code"] == "leakage" for w in rep["warnings"])


def test_penguins_real_table(runner, tmp_path):
    from palmerpenguins import load_penguins

    path = _write(load_penguins(), tmp_path, "penguins.csv")
    rep = _scope(runner, path, target="species", rate=600, unit="day", currency="gbp").report
    assert_shape(rep)
    assert rep["task"] == "multiclass" and rep["metric"] == "f1_macro"
    assert rep["best"]["score"] > 0.9 > rep["dummy"]
    q = rep["quote"]
    assert q["currency"] == "GBP" and q["unit"] == "day" and q["rate"] == 600
    assert q["low"] == round(rep["estimate"]["hours_low"] / 7.5 * 600)
    assert 0 < q["low"] <= q["high"]
    md = scope_markdown(rep)
    assert "`species`" in md and "GBP" in md


def test_penguins_raw_groups_and_text(runner, tmp_path):
    """The raw table has per-penguin IDs, dates, comments: grouped folds, text left out."""
    import palmerpenguins

    raw = Path(palmerpenguins.__file__).parent / "data" / "penguins-raw.csv"
    rep = _scope(runner, raw, target="Species").report
    assert_shape(rep)
    kinds = {c["name"]: c["kind"] for c in rep["profile"]["columns"]}
    assert kinds["Date Egg"] == "datetime"
    assert kinds["Comments"] in ("text", "categorical")
    assert rep["best"]["score"] > 0.9


def test_a_daily_numeric_series_is_a_forecast_validated_forward_in_time(runner, tmp_path):
    rng = np.random.default_rng(0)
    n = 600
    when = pd.date_range("2023-01-01", periods=n, freq="D")
    x = rng.normal(size=n)
    frame = pd.DataFrame({"day": when.strftime("%Y-%m-%d"), "x": x, "target": 3 * x + np.arange(n) / 100 + rng.normal(size=n)})
    rep = _scope(runner, _write(frame, tmp_path, "ts.csv")).report
    assert rep["frame"] == "forecasting"  # one numeric value per day: issue 12's forecasting frame
    assert rep["cv"]["kind"] == "time_backtest" and rep["cv"]["column"] == "day"
    assert "backtest" in rep["cv"]["note"] and "never seeing a value inside it" in rep["cv"]["note"]


def test_repeated_ids_use_grouped_folds(runner, tmp_path):
    rng = np.random.default_rng(1)
    customers = np.repeat(np.arange(150), 4)
    effect = rng.normal(size=150)[customers]
    frame = pd.DataFrame({"customer_id": [f"C{c:04d}" for c in customers], "x": rng.normal(size=600)})
    frame["target"] = np.where(effect + frame["x"] + rng.normal(0, 0.5, 600) > 0, "yes", "no")
    rep = _scope(runner, _write(frame, tmp_path, "groups.csv")).report
    assert rep["cv"]["kind"] == "group_kfold" and rep["cv"]["column"] == "customer_id"
    assert any(w["code"] == "id_column" and w["column"] == "customer_id" for w in rep["warnings"])


def test_near_copy_leak_in_regression(runner, tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=500)
    y = 2 * x + rng.normal(size=500)
    frame = pd.DataFrame({"x": x, "invoice_total": y * 1.1 + rng.normal(0, 0.01, 500), "target": y})
    rep = _scope(runner, _write(frame, tmp_path, "leak.csv")).report
    assert rep["leakage"]["excluded"] == ["invoice_total"]
    assert any(w["code"] == "leakage" and w["column"] == "invoice_total" for w in rep["warnings"])
    assert rep["best"]["score"] < 0.95


def test_uploaded_bytes_and_progress(runner, tmp_path):
    frame = load_iris(as_frame=True).frame
    data = frame.to_csv(index=False).encode()
    stages: list[tuple[str, dict]] = []
    res = runner.run(ScopeRequest(path=None, data=data, filename="iris upload.csv", target="target", budget=2),
                     progress=lambda s, i: stages.append((s, i)), timeout=120)
    names = [s for s, _ in stages]
    assert names[0] == "loading" and names[-1] == "done"
    assert {"profiling", "baselines", "learning_curve", "estimate"} <= set(names)
    first = next(i for s, i in stages if s == "baselines")
    assert first["i"] == 1 and first["model"] == "dummy" and "f1_macro" in first["scores"]
    # the leader so far travels with each score, so a front can show the first scores at once
    leaders = [i["best"] for s, i in stages if s == "baselines"]
    assert leaders[0]["model"] == "dummy" and leaders[0]["metric"] == "f1_macro"
    assert [b["score"] for b in leaders] == sorted(b["score"] for b in leaders)
    assert leaders[-1]["score"] > 0.8 and leaders[-1]["model"] != "dummy"
    assert res.report["file"]["name"] == "iris upload.csv"


def test_core_scope_stores_the_report(tmp_path):
    from bot.app import Core
    from bot.config import load_settings

    settings = load_settings(data_dir=tmp_path / "data")
    core = Core(settings)
    try:
        frame = load_wine(as_frame=True).frame
        path = _write(frame, tmp_path, "wine.csv")
        out = core.scope(path=path, target="target", budget=2, user_id="u1")
        assert out["scope_id"] and out["report"]["task"] == "multiclass"
        assert out["chart_png"][:4] == b"\x89PNG"
        lean = core.scope(path=path, target="target", budget=2, user_id="u2", chart=False)  # CLI without --plot
        assert lean["chart_png"] is None and lean["report"]["best"]["score"] == out["report"]["best"]["score"]
        latest = core.latest_scope("u1")
        assert latest is not None and latest[1]["target"] == "target"
    finally:
        core.close()
