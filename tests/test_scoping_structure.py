"""Validation that follows the data's structure: repeating entities, time that matters, forced --cv
that cannot be honoured, and advice that never contradicts the folds. Generated data with the
truth planted; the scores are compared with what an honest split allows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.config import Scope
from bot.scoping.convert import convert_table
from bot.scoping.load import load_table
from bot.scoping.profile import profile_table
from bot.scoping.target import build_target
from bot.scoping.validation import choose_validation, grouped_time_splits, time_splits
from tests.conftest import make_core

LIMITS = Scope()


def technicians(rng: np.random.Generator, n_people: int = 120, n: int = 5000) -> pd.DataFrame:
    """Repair jobs, many per technician (codes like TX-4821), blocks per technician in time order.
    Much of the duration is the technician's own pace, and their team and start year fingerprint them."""
    pace = rng.normal(0, 0.35, n_people)
    team = rng.choice(["north", "south", "east"], n_people)
    since = rng.integers(2012, 2024, n_people)
    who = rng.choice(n_people, n)
    hours = rng.integers(0, 24 * 120, n)
    parts = rng.integers(1, 8, n)
    minutes = (30 + 9 * parts) * np.exp(pace[who]) * rng.lognormal(0, 0.12, n)
    df = pd.DataFrame({"technician": [f"TX-{4000 + k}" for k in who], "team": team[who], "since": since[who],
                       "started": pd.Timestamp("2024-01-01") + pd.to_timedelta(hours, "h"), "parts": parts,
                       "minutes": minutes.round(1)})
    df = df.sort_values(["technician", "started"]).reset_index(drop=True)
    df["started"] = df["started"].dt.strftime("%Y-%m-%d %H:%M")
    return df


def shop_sessions(rng: np.random.Generator, n_people: int = 900, n: int = 9000) -> pd.DataFrame:
    """Sessions per shopper over half a year, one block per shopper in time order; promotion days that no
    column records lift purchases, so folds that mix time learn them from the same days' rows."""
    appetite = rng.normal(0, 1, n_people)
    who = rng.choice(n_people, n)
    day = rng.integers(0, 180, n)
    promo = np.isin(day, rng.choice(180, 30, replace=False))
    pages = rng.integers(1, 30, n)
    logit = -3 + appetite[who] + 0.08 * pages + 2.2 * promo
    bought = rng.random(n) < 1 / (1 + np.exp(-logit))
    df = pd.DataFrame({"shopper": [f"S{100000 + k}" for k in who],
                       "at": pd.Timestamp("2024-01-01") + pd.to_timedelta(day * 86400 + rng.integers(0, 86400, n), "s"),
                       "pages": pages, "bought": bought.astype(int)})
    df = df.sort_values(["shopper", "at"]).reset_index(drop=True)
    df["at"] = df["at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return df


def understood(df: pd.DataFrame, target: str, prefer: str = "auto"):
    table = convert_table(load_table(path=None, data=df.to_csv(index=False).encode(), filename="x.csv",
                                     limits=LIMITS), LIMITS)
    profile = profile_table(table)
    t = build_target(table.frame, profile, table.display, target, "auto", LIMITS)
    v = choose_validation(table.frame, profile, t, table.display, 5, 0, prefer=prefer, limits=LIMITS.structure)
    return v, profile


def test_entity_codes_that_look_like_categories_get_grouped_folds():
    v, profile = understood(technicians(np.random.default_rng(0)), "minutes")
    assert profile.columns["technician"].kind == "id" and profile.columns["technician"].group_id
    assert v.kind == "group_kfold" and v.column == "technician"
    leak = [lk for lk in v.leaks if lk.code == "leak_entity"]
    assert leak and leak[0].column == "technician"
    assert {"team", "since"} <= set(leak[0].evidence["fingerprints"])


def test_time_within_entities_that_matters_gets_grouped_time_folds():
    v, profile = understood(shop_sessions(np.random.default_rng(1)), "bought")
    assert profile.columns["at"].ordered_within == "shopper"
    assert v.kind == "grouped_time_series" and v.time_column == "at"
    assert {lk.code for lk in v.leaks} == {"leak_entity", "leak_future"}


def test_forced_group_and_time_that_cannot_be_honoured_say_what_was_done():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=300), "z": rng.normal(size=300)})
    df["y"] = (df.x + rng.normal(size=300) > 0).astype(int)
    group, _ = understood(df, "y", prefer="group")
    assert group.kind == "stratified_kfold"
    assert [w["code"] for w in group.warnings] == ["cv_not_honoured"]
    assert "no column repeats" in group.warnings[0]["message"] and "shuffled" in group.warnings[0]["message"]
    time, _ = understood(df, "y", prefer="time")
    assert time.kind == "time_series" and "row order" in time.note
    assert "file's row order" in time.warnings[0]["message"]


def test_time_folds_never_train_on_the_future_and_grouped_folds_never_share_an_id():
    rng = np.random.default_rng(3)
    t = np.sort(rng.integers(0, 50, 2000)).astype(float)  # many ties
    for tr, te in time_splits(t, 5):
        assert t[tr].max() < t[te].min()
    groups = rng.integers(0, 80, 2000)
    for tr, te in grouped_time_splits(t, groups, 5, 0):
        assert t[tr].max() < t[te].min()
        assert not set(groups[tr]) & set(groups[te])


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    return make_core(tmp_path_factory.mktemp("data"))


def test_grouped_scores_stay_honest_and_forced_shuffling_is_marked_not_credible(core, tmp_path):
    rng = np.random.default_rng(4)
    path = tmp_path / "jobs.csv"
    technicians(rng).to_csv(path, index=False)
    honest = core.scope(path=path, target="minutes", budget=8)["report"]
    shuffled = core.scope(path=path, target="minutes", budget=8, cv="kfold")["report"]
    assert honest["cv"]["kind"] == "group_kfold" and shuffled["cv"]["kind"] == "kfold"
    assert honest["best"]["score"] < shuffled["best"]["score"] - 0.05  # shuffled folds recognise the technician
    warned = [w for w in shuffled["warnings"] if w["code"] == "leak_entity"]
    assert warned and "not credible" in warned[0]["message"]
    advice = " ".join(w["message"] for w in honest["warnings"])
    assert "sort" not in advice  # no advice to sort rows that are already in time order within each ID


def test_a_panel_shares_dates_between_entities_without_a_duplicate_warning():
    """Many stores on the same week are a panel, not double-counted events; the same store twice on
    one week is."""
    from bot.scoping.checks import profile_warnings

    weeks = pd.date_range("2024-01-01", periods=60, freq="W-MON").strftime("%Y-%m-%d")
    df = pd.DataFrame({"store": np.repeat([f"S{i:02d}" for i in range(30)], 60), "week": np.tile(weeks, 30),
                       "sales": np.random.default_rng(0).normal(100, 10, 1800).round(1)})
    for data, dups in ((df, 0), (pd.concat([df, df.iloc[:5]], ignore_index=True), 5)):
        table = convert_table(load_table(path=None, data=data.to_csv(index=False).encode(), filename="p.csv",
                                         limits=LIMITS), LIMITS)
        profile = profile_table(table)
        assert profile.columns["week"].duplicates == dups
        codes = [w["code"] for w in profile_warnings(profile, table.display, "sales")]
        assert ("duplicate_timestamps" in codes) == bool(dups)


def test_a_forecast_says_how_many_time_steps_are_missing(core, tmp_path):
    from bot.scoping.common import Names
    from bot.scoping.frames import TimeIndex, _forecast_reason

    days = pd.date_range("2023-01-01", periods=400, freq="D")
    keep = np.delete(np.arange(400), [50, 51, 52, 200])
    path = tmp_path / "orders.csv"
    pd.DataFrame({"day": days[keep].strftime("%Y-%m-%d"),
                  "orders": (100 + 10 * np.sin(np.arange(400) / 7))[keep].round(1)}).to_csv(path, index=False)
    report = core.scope(path=path, target="orders", budget=8)["report"]
    assert report["frame"] == "forecasting"
    assert "4 days of the 400 between the first and last date are missing" in report["frame_reason"]
    whole = TimeIndex("day", "daily", 1.0, [], 400, 1.0)
    assert "missing" not in _forecast_reason(Names({}), whole, "orders", False)


def test_time_folds_with_one_class_are_dropped_not_shuffled_away():
    """Failures that come in a few episodes late in the log leave the early time windows with one class:
    the folds that can be scored are kept (fewer, longer windows if need be), still training on the past
    only, instead of falling back to shuffled k-fold."""
    from bot.scoping.features import Validation
    from bot.scoping.selection import _splits

    n = 1000
    y = np.zeros(n, dtype=int)
    for start in (450, 650, 850, 950):
        y[start:start + 30] = 1
    times = np.arange(n, dtype=float)
    planned = Validation("time_series", 5, "time-ordered.", times=times, time_column="ts")
    used, splits = _splits(planned, np.zeros((n, 1)), y, "binary", np.arange(n), 0)
    assert used.kind == "time_series" and 2 <= used.folds < 5 and "were planned" in used.note
    for tr, te in splits:
        assert times[tr].max() < times[te].min() and set(y[tr]) == {0, 1} and set(y[te]) == {0, 1}
    one_episode = np.zeros(n, dtype=int)
    one_episode[600:700] = 1  # no forward split can score it: shuffled, and said so
    used, _ = _splits(planned, np.zeros((n, 1)), one_episode, "binary", np.arange(n), 0)
    assert used.kind == "stratified_kfold" and "not possible" in used.note
