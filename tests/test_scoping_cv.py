"""Validation choice: time-ordered data gets time-ordered folds unless the user forces shuffled ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.errors import InputError
from tests.conftest import make_core


def _dated(tmp_path, drift: float):
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({
        "day": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "x": rng.normal(size=n).round(3),
        "z": rng.normal(size=n).round(3),
    })
    trend = drift * (np.arange(n) / n - 0.5)  # the label's base rate moves with time when drift > 0
    df["label"] = np.where(df["x"] + trend + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    path = tmp_path / f"dated_{drift}.csv"
    df.to_csv(path, index=False)
    return path


def test_time_that_matters_gets_time_order_and_kfold_can_be_forced(tmp_path):
    path = _dated(tmp_path, drift=6.0)
    core = make_core(tmp_path / "data")
    auto = core.scope(path=path, target="label", budget=5)["report"]
    assert auto["cv"]["kind"] == "time_series" and "time-ordered" in auto["cv"]["note"]
    assert any(w["code"] == "leak_future" and w["column"] == "day" for w in auto["warnings"])
    forced = core.scope(path=path, target="label", budget=5, cv="kfold")["report"]
    assert forced["cv"]["kind"] == "stratified_kfold" and "as asked" in forced["cv"]["note"]
    future = [w for w in forced["warnings"] if w["code"] == "leak_future"]
    assert future and "not credible" in future[0]["message"]
    with pytest.raises(InputError, match="unknown validation"):
        core.scope(path=path, target="label", budget=5, cv="bogus")


def test_sorted_timestamps_alone_are_no_reason_for_a_time_split(tmp_path):
    core = make_core(tmp_path / "data")
    report = core.scope(path=_dated(tmp_path, drift=0.0), target="label", budget=5)["report"]
    assert report["cv"]["kind"] == "stratified_kfold"
    assert "no trend" in report["cv"]["note"]
    assert not any("leak" in w["code"] for w in report["warnings"])


def test_exact_copies_of_rows_stay_in_one_fold(tmp_path):
    # A CRM export that repeats each record 1-4 times: shuffled folds would test rows the model trained on.
    rng = np.random.default_rng(3)
    n = 400
    x1, x2 = rng.normal(size=n).round(4), rng.normal(size=n).round(4)
    base = pd.DataFrame({"x1": x1, "x2": x2, "segment": rng.choice(list("abcde"), n),
                         "bought": np.where(x1 + 0.5 * x2 + rng.normal(scale=1.5, size=n) > 0, "yes", "no")})
    df = base.loc[base.index.repeat(rng.integers(1, 5, n))].sample(frac=1, random_state=1)
    path = tmp_path / "copies.csv"
    df.to_csv(path, index=False)
    core = make_core(tmp_path / "data")
    report = core.scope(path=path, target="bought", budget=5)["report"]
    assert report["cv"]["kind"] == "group_kfold" and "identical rows" in report["cv"]["note"]
    assert "column" not in report["cv"]
    assert any(w["code"] == "duplicate_rows" for w in report["warnings"])
    assert "repeated IDs" not in str(report["estimate"])  # copies are no entity to quote for
    # without copies the same table keeps shuffled, stratified folds
    base.to_csv(path, index=False)
    assert core.scope(path=path, target="bought", budget=5)["report"]["cv"]["kind"] == "stratified_kfold"


def test_plain_rows_that_repeat_by_chance_keep_shuffled_folds(tmp_path):
    # A survey of a few 1-5 answers repeats whole rows by chance: no copies of records to keep apart
    # (grouping them would hold out whole combinations of answers).
    rng = np.random.default_rng(4)
    n = 1200
    df = pd.DataFrame({q: rng.integers(1, 6, n) for q in ("q1", "q2", "q3")})
    df["region"] = rng.choice(["n", "s", "e", "w"], n)
    df["renewed"] = np.where(df["q1"] + rng.normal(0, 1.5, n) > 3, "yes", "no")
    path = tmp_path / "survey.csv"
    df.to_csv(path, index=False)
    core = make_core(tmp_path / "data")
    report = core.scope(path=path, target="renewed", budget=5)["report"]
    assert report["cv"]["kind"] == "stratified_kfold"
