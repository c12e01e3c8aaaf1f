"""Validation choice: time-ordered data gets time-ordered folds unless the user forces shuffled ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.errors import InputError
from tests.conftest import make_core


@pytest.fixture
def dated_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({
        "day": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "x": rng.normal(size=n).round(3),
        "z": rng.normal(size=n).round(3),
    })
    df["label"] = np.where(df["x"] + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    path = tmp_path / "dated.csv"
    df.to_csv(path, index=False)
    return path


def test_auto_uses_time_order_and_kfold_can_be_forced(tmp_path, dated_csv):
    core = make_core(tmp_path / "data")
    auto = core.scope(path=dated_csv, target="label", budget=5)["report"]
    assert auto["cv"]["kind"] == "time_series" and "time-ordered" in auto["cv"]["note"]
    forced = core.scope(path=dated_csv, target="label", budget=5, cv="kfold")["report"]
    assert forced["cv"]["kind"] == "stratified_kfold" and "optimistic" in forced["cv"]["note"]
    with pytest.raises(InputError, match="unknown validation"):
        core.scope(path=dated_csv, target="label", budget=5, cv="bogus")
