"""Learning curve: the best model's validation score at four training sizes, and a plain reading.

The model is refitted on 10%, 25% and 50% of each training fold (a stratified subset for
classification, the most recent rows for time-ordered validation) and scored on the full
validation fold; the 100% point is the cross-validated score itself (same folds). Folds are
as many folds as the time box allows, at least two (the 100% point uses the same folds).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from bot.scoping.baselines import CVResult, headline, make_estimator, score_fold
from bot.scoping.metrics import higher_is_better

SIZES = (0.1, 0.25, 0.5)
MIN_FOLDS = 2
MAX_FOLDS = 5


def learning_curve(best: CVResult, X: np.ndarray, y: np.ndarray, splits: list, task: str, categorical: np.ndarray,
                   n_classes: int, positive: int | None, random_state: int, deadline: float,
                   ordered: bool, metric: str | None = None, weights: np.ndarray | None = None) -> list[dict[str, Any]]:
    """`X` is the matrix the best model takes; `metric` the frame's headline (default: the task's)."""
    per_fold = best.seconds / max(len(splits), 1)
    # a fit on a fraction of the rows is cheaper, but fixed costs (trees, iterations) dominate on
    # small data: count each fit as a full fold, and use as many folds as the time box allows
    affordable = int((deadline - time.monotonic()) / max(per_fold * len(SIZES) * 1.2, 1e-3))
    folds = list(range(max(MIN_FOLDS, min(MAX_FOLDS, len(splits), affordable))))
    rng = np.random.default_rng(random_state)
    points: list[dict[str, Any]] = []
    for frac in SIZES:
        if time.monotonic() + per_fold * max(frac * 2, 0.5) * len(folds) > deadline:
            break
        scores, sizes = [], []
        for k in folds:
            tr, te = splits[k]
            sub = _subset(tr, y, frac, task, n_classes, rng, ordered)
            if sub is None:
                continue
            model = make_estimator(best.spec, task, categorical, random_state)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(X[sub], y[sub])
                    fold = score_fold(task, y[te], model, X[te], n_classes, positive,
                                      None if weights is None else weights[te])
                    scores.append(headline(task, fold, metric))
                    sizes.append(len(sub))
            except ValueError:
                continue
        if scores and all(np.isfinite(scores)):
            points.append({"train_size": int(np.mean(sizes)), "score": round(float(np.mean(scores)), 4)})
    full = [headline(task, best.fold_scores[k], metric) for k in folds if k < len(best.fold_scores)]
    full_size = int(np.mean([len(splits[k][0]) for k in folds]))
    if full and all(np.isfinite(full)):
        points.append({"train_size": full_size, "score": round(float(np.mean(full)), 4)})
    return points


def _subset(train: np.ndarray, y: np.ndarray, frac: float, task: str, n_classes: int, rng, ordered: bool):
    size = max(int(round(len(train) * frac)), 2)
    if ordered:
        return train[-size:]
    if task == "regression":
        return np.sort(rng.choice(train, size=min(size, len(train)), replace=False))
    picks = []
    for cls in range(n_classes):
        idx = train[y[train] == cls]
        if len(idx) == 0:
            continue
        take = max(2 if len(idx) >= 2 else 1, int(round(len(idx) * frac)))
        picks.append(rng.choice(idx, size=min(take, len(idx)), replace=False))
    sub = np.sort(np.concatenate(picks)) if picks else None
    if sub is None or len(np.unique(y[sub])) < 2:
        return None
    return sub


def reading(points: list[dict[str, Any]], metric: str) -> str:
    """A plain sentence on whether more data is likely to help (errors improve downwards)."""
    if len(points) < 2:
        return "Not enough time or data to draw a learning curve."
    sign = 1.0 if higher_is_better(metric) else -1.0
    first, half, last = points[0], points[-2], points[-1]
    # gains relative to the scale of the metric: errors are compared as shares of the smaller rows' error
    scale = 1.0 if sign > 0 else max(abs(half["score"]), 1e-12)
    gain_last = sign * (last["score"] - half["score"]) / scale
    gain_all = sign * (last["score"] - first["score"]) / (1.0 if sign > 0 else max(abs(first["score"]), 1e-12))
    size_ratio = last["train_size"] / max(half["train_size"], 1)
    verb = "improved" if sign < 0 else "went"
    if gain_last > 0.01 * max(1.0, size_ratio / 2):
        return (f"Still rising: {metric} {verb} from {half['score']:.3f} to {last['score']:.3f} when the training rows "
                f"grew ({half['train_size']:,} to {last['train_size']:,}); more data is likely to help.")
    if gain_all > 0.02 and gain_last > 0.003:
        return (f"Flattening: {metric} moved from {first['score']:.3f} to {last['score']:.3f} between "
                f"{first['train_size']:,} and {last['train_size']:,} rows but only to {last['score']:.3f} from "
                f"{half['score']:.3f} in the last step; more data helps a little, better features would help more.")
    return (f"Plateaued: {metric} is {last['score']:.3f} with {last['train_size']:,} training rows and barely changed with "
            "fewer; more data alone is unlikely to help much, better features or a reframed target would.")
