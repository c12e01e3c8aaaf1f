"""The forecasting frame: a numeric target over a regular time index, one series or many.

Validation is a rolling-origin backtest: the last `folds x horizon` time steps are cut into `folds`
blocks of `horizon` steps; each fold trains on everything before its block and forecasts the whole
block (every series at once), never seeing a value inside it. Models, each fitted inside each fold:
  last_value_naive           each series' last value before the block, repeated
  seasonal_naive_<season>    each series' value one season earlier (the seasons the frequency and the
                             history allow: weekly or yearly for daily data, yearly for weekly data, ...)
  gradient_boosting_lags     HistGradientBoosting on lags (1, 2, 3 and one season back), a rolling
                             mean, calendar parts, the series and the other columns, on the target divided
                             by each series' level; it forecasts the block step by step from its own
                             forecasts (recursive), so no lag comes from inside the block
Scores pool every forecast cell of a block: mae and rmse (the target's units), wape (sum of absolute
errors over the sum of actuals), mase (absolute errors over each series' in-sample seasonal-naive
error: below 1 beats seasonal naive), r2.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import r2_score

from bot.scoping.baselines import CVResult, ModelSpec, record, run_folds
from bot.scoping.frames import TimeIndex, codes

HORIZON = {"hourly": 24, "daily": 14, "weekly": 13, "monthly": 6, "quarterly": 4, "yearly": 2, "irregular": 4}
METRICS = ("mae", "rmse", "wape", "mase", "r2")
MAX_CELLS = 300_000        # series x time steps fitted; above it, a stated random subset of series
CURVE_SHARES = (0.25, 0.5)
GBM = {"learning_rate": 0.1, "max_iter": 150, "max_leaf_nodes": 15, "min_samples_leaf": 10,
       "l2_regularization": 1.0}


@dataclass
class Panel:
    Y: np.ndarray                  # series x steps, NaN where no row
    exog: np.ndarray | None        # series x steps x features (the other columns), NaN where no row
    exog_categorical: np.ndarray   # bool per exogenous feature
    stamps: pd.DatetimeIndex       # the time of each step
    index: TimeIndex
    series_total: int              # series in the data (before any subset)
    rows: int                      # rows used

    @property
    def n_series(self) -> int:
        return self.Y.shape[0]

    @property
    def steps(self) -> int:
        return self.Y.shape[1]


@dataclass
class Backtest:
    origins: list[int]
    horizon: int
    season: int                    # the season MASE scales by (1: none)

    def blocks(self) -> list[tuple[int, int]]:
        return [(o, o + self.horizon) for o in self.origins]


def build_panel(frame: Any, target_rows: np.ndarray, y: np.ndarray, index: TimeIndex, exog: np.ndarray | None,
                exog_categorical: np.ndarray, random_state: int) -> Panel:
    """The dense series x steps array of the target (and the other columns) for the target's rows."""
    t = frame[index.column][target_rows].astype("datetime64[s]")
    ok = ~np.isnat(t)
    rows, t, y = target_rows[ok], t[ok], y[ok]
    exog = exog[ok] if exog is not None else None
    step = _step_numbers(t, index)
    step -= step.min()
    if index.series:
        parts = [codes(frame, c, rows) for c in index.series]
        key = parts[0] if len(parts) == 1 else parts[0] * (int(parts[1].max()) + 2) + parts[1]
        series = pd.factorize(key)[0]
    else:
        series = np.zeros(len(rows), dtype=np.int64)
    n_series, n_steps = int(series.max()) + 1, int(step.max()) + 1
    total = n_series
    keep = np.arange(n_series)
    if n_series * n_steps > MAX_CELLS and n_series > 1:
        take = max(1, MAX_CELLS // n_steps)
        keep = np.sort(np.random.default_rng(random_state).choice(n_series, take, replace=False))
        mask = np.isin(series, keep)
        series, step, y, t = np.searchsorted(keep, series[mask]), step[mask], y[mask], t[mask]
        exog = exog[mask] if exog is not None else None
        n_series = len(keep)
    Y = np.full((n_series, n_steps), np.nan)
    Y[series, step] = y
    E = None
    if exog is not None and exog.shape[1]:
        E = np.full((n_series, n_steps, exog.shape[1]), np.nan)
        E[series, step] = exog
    first = pd.Timestamp(t.min())
    stamps = _stamps(first, n_steps, index)
    return Panel(Y, E, exog_categorical, stamps, index, total, int(len(y)))


def _step_numbers(t: np.ndarray, index: TimeIndex) -> np.ndarray:
    d = pd.DatetimeIndex(t)
    if index.frequency == "monthly":
        return (d.year * 12 + d.month).to_numpy(np.int64)
    if index.frequency == "quarterly":
        return (d.year * 4 + d.quarter).to_numpy(np.int64)
    if index.frequency == "yearly":
        return d.year.to_numpy(np.int64)
    seconds = t.astype(np.int64)
    step = max(index.step_days * 86_400.0, 1.0)
    return np.round((seconds - seconds.min()) / step).astype(np.int64)


def _stamps(first: pd.Timestamp, n: int, index: TimeIndex) -> pd.DatetimeIndex:
    if index.frequency == "monthly":
        return pd.DatetimeIndex([first + pd.DateOffset(months=k) for k in range(n)])
    if index.frequency == "quarterly":
        return pd.DatetimeIndex([first + pd.DateOffset(months=3 * k) for k in range(n)])
    if index.frequency == "yearly":
        return pd.DatetimeIndex([first + pd.DateOffset(years=k) for k in range(n)])
    return first + pd.to_timedelta(np.arange(n) * index.step_days, unit="D")


def plan_backtest(panel: Panel, folds: int) -> Backtest:
    """Origins of `folds` blocks at the end of the history, each `horizon` steps; fewer folds or a shorter
    horizon when the history is short (the first fold keeps at least half of it for training)."""
    T = panel.steps
    horizon = HORIZON.get(panel.index.frequency, 4)
    horizon = max(1, min(horizon, (T // 2) // max(folds, 1)))
    folds = max(2, min(folds, (T // 2) // horizon))
    if T - folds * horizon < 3:
        raise ValueError("too short a history for a backtest")
    origins = [T - (folds - k) * horizon for k in range(folds)]
    season = next((m for m, _ in panel.index.seasons if m < origins[0]), 1)
    return Backtest(origins, horizon, season)


def specs(panel: Panel, backtest: Backtest) -> list[ModelSpec]:
    out = [ModelSpec("last_value_naive", "naive")]
    for m, name in panel.index.seasons:
        if m < backtest.origins[0]:
            out.append(ModelSpec(f"seasonal_naive_{name}", "seasonal", {"season": m}))
    lags = sorted({1, 2, 3, *[m for m, _ in panel.index.seasons if m < backtest.origins[0]]})
    out.append(ModelSpec("gradient_boosting_lags", "gbm", {"lags": lags}))
    return out


# Forecasts -----------------------------------------------------------------------------------------


def _last_values(Y: np.ndarray, origin: int) -> np.ndarray:
    hist = Y[:, :origin]
    seen = ~np.isnan(hist)
    last = np.where(seen.any(axis=1), origin - 1 - np.argmax(seen[:, ::-1], axis=1), -1)
    out = np.full(Y.shape[0], np.nan)
    ok = last >= 0
    out[ok] = hist[np.flatnonzero(ok), last[ok]]
    return out


def forecast(spec: ModelSpec, panel: Panel, origin: int, horizon: int, random_state: int,
             start: int = 0) -> np.ndarray:
    """Series x horizon forecasts from the history before `origin` (from step `start` on, for the curve)."""
    Y = panel.Y
    last = _last_values(Y, origin)
    if spec.family == "naive":
        return np.repeat(last[:, None], horizon, axis=1)
    if spec.family == "seasonal":
        m = spec.params["season"]
        out = np.empty((Y.shape[0], horizon))
        for h in range(horizon):
            back = origin + h - m * ((h // m) + 1)
            col = Y[:, back] if back >= 0 else np.full(Y.shape[0], np.nan)
            out[:, h] = np.where(np.isnan(col), last, col)
        return out
    return _gbm_forecast(spec, panel, origin, horizon, random_state, start)


def _levels(Y: np.ndarray, origin: int, start: int) -> np.ndarray:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        level = np.nanmean(np.abs(Y[:, start:origin]), axis=1)
    pooled = np.nanmean(np.abs(Y[:, start:origin])) if np.isfinite(Y[:, start:origin]).any() else 1.0
    return np.where(np.isfinite(level) & (level > 0), level, pooled if pooled > 0 else 1.0)


def _features(Z: np.ndarray, t: int, lags: list[int], panel: Panel, window: int) -> np.ndarray:
    """Features of every series at step t from the scaled history Z (columns < t only)."""
    S = Z.shape[0]
    cols = [Z[:, t - k] if t - k >= 0 else np.full(S, np.nan) for k in lags]
    lo = max(0, t - window)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cols.append(np.nanmean(Z[:, lo:t], axis=1) if t > lo else np.full(S, np.nan))
    stamp = panel.stamps[t]
    freq = panel.index.frequency
    calendar = [stamp.month, stamp.isocalendar().week if freq in ("daily", "weekly") else 0,
                stamp.dayofweek if freq in ("daily", "hourly") else 0, stamp.hour if freq == "hourly" else 0, t]
    cols += [np.full(S, float(v)) for v in calendar]
    cols.append(np.arange(S, dtype=np.float64))
    X = np.column_stack(cols)
    if panel.exog is not None:
        X = np.column_stack([X, panel.exog[:, t, :]])
    return X


def _categorical_mask(lags: list[int], panel: Panel) -> np.ndarray:
    base = [False] * (len(lags) + 1 + 5) + [panel.n_series > 1]
    extra = list(panel.exog_categorical) if panel.exog is not None else []
    return np.array(base + extra, dtype=bool)


def _gbm_forecast(spec: ModelSpec, panel: Panel, origin: int, horizon: int, random_state: int,
                  start: int) -> np.ndarray:
    lags = spec.params["lags"]
    window = max(4, min(lags[-1], 8))
    level = _levels(panel.Y, origin, start)
    Z = panel.Y[:, :origin + horizon] / level[:, None]
    Z[:, origin:] = np.nan
    first = max(start, 1)
    X = np.vstack([_features(Z, t, lags, panel, window) for t in range(first, origin)])
    y = Z[:, first:origin].T.ravel()
    ok = np.isfinite(y)
    mask = _categorical_mask(lags, panel)
    if panel.n_series > 255:  # HGB takes at most 255 categories: the series code stays a number
        mask[len(lags) + 6] = False
    model = HistGradientBoostingRegressor(categorical_features=mask if mask.any() else None,
                                          random_state=random_state, **GBM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X[ok], y[ok])
        for h in range(horizon):
            Z[:, origin + h] = model.predict(_features(Z, origin + h, lags, panel, window))
    return Z[:, origin:origin + horizon] * level[:, None]


# Scoring -------------------------------------------------------------------------------------------


def _scales(Y: np.ndarray, origin: int, season: int) -> np.ndarray:
    """Each series' in-sample seasonal-naive mean absolute error before `origin` (the MASE scale)."""
    hist = Y[:, :origin]
    diff = np.abs(hist[:, season:] - hist[:, :-season]) if origin > season else np.full((Y.shape[0], 1), np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scale = np.nanmean(diff, axis=1)
        pooled = np.nanmean(diff)
    pooled = pooled if np.isfinite(pooled) and pooled > 0 else 1.0
    return np.where(np.isfinite(scale) & (scale > 0), scale, pooled)


def score_block(panel: Panel, origin: int, pred: np.ndarray, season: int) -> dict[str, float]:
    truth = panel.Y[:, origin:origin + pred.shape[1]]
    ok = np.isfinite(truth) & np.isfinite(pred)
    if not ok.any():
        return {m: float("nan") for m in METRICS}
    err = np.abs(truth - pred)
    scale = np.broadcast_to(_scales(panel.Y, origin, season)[:, None], truth.shape)
    actual = np.abs(truth[ok]).sum()
    return {"mae": float(err[ok].mean()), "rmse": float(np.sqrt((err[ok] ** 2).mean())),
            "wape": float(err[ok].sum() / actual) if actual > 0 else float("nan"),
            "mase": float((err[ok] / scale[ok]).mean()),
            "r2": float(r2_score(truth[ok], pred[ok])) if ok.sum() >= 2 else float("nan")}


def run_models(panel: Panel, backtest: Backtest, random_state: int, deadline: float,
               on_result: Callable[[int, int, CVResult], None] | None = None) -> tuple[list[CVResult], list[dict]]:
    """Every model on every backtest block; the boosted model stops at the deadline after its first block."""
    results: list[CVResult] = []
    skipped: list[dict[str, Any]] = []
    todo = specs(panel, backtest)
    for n, spec in enumerate(todo, start=1):
        def one(k: int, spec: ModelSpec = spec) -> dict[str, float]:
            origin = backtest.origins[k]
            return score_block(panel, origin, forecast(spec, panel, origin, backtest.horizon, random_state),
                               backtest.season)

        res = run_folds(spec, len(backtest.origins), one, deadline if spec.family == "gbm" else None)
        # the frame's main model is never dropped for time: it keeps the blocks it finished, and says so
        record(res, len(backtest.origins), results, skipped, keep_partial=spec.family == "gbm",
               unit="backtest blocks", on_result=on_result, i=n, total=len(todo))
    return results, skipped


def learning_curve(best: CVResult, panel: Panel, backtest: Backtest, metric: str, random_state: int,
                   deadline: float) -> list[dict[str, Any]]:
    """The best model trained on the most recent 25% and 50% of each fold's history, then all of it."""
    points = []
    per_fold = best.seconds / max(len(backtest.origins), 1)
    if best.spec.family == "gbm":
        for share in CURVE_SHARES:
            if time.monotonic() + per_fold * share * len(backtest.origins) > deadline:
                break
            scores, sizes = [], []
            for origin, _ in backtest.blocks():
                start = max(0, origin - max(int(origin * share), 4))
                pred = forecast(best.spec, panel, origin, backtest.horizon, random_state, start=start)
                scores.append(score_block(panel, origin, pred, backtest.season)[metric])
                sizes.append(int(np.isfinite(panel.Y[:, start:origin]).sum()))
            if np.all(np.isfinite(scores)):
                points.append({"train_size": int(np.mean(sizes)), "score": round(float(np.mean(scores)), 4)})
    full = int(np.mean([np.isfinite(panel.Y[:, :o]).sum() for o in backtest.origins]))
    points.append({"train_size": full, "score": round(best.mean(metric), 4)})
    return points


def headline_metric(panel: Panel) -> str:
    """wape for a non-negative target (volumes: sales, demand, counts), else mase (scale-free either way)."""
    values = panel.Y[np.isfinite(panel.Y)]
    return "wape" if values.size and values.min() >= 0 and values.sum() > 0 else "mase"
