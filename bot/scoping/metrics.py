"""Metric names shared by every frame: which way is better, and choosing the best result.

Scores in the report are keyed by these names. Errors (mae, rmse, wape, mase) are lower-is-better;
everything else (roc_auc, pr_auc, f1, f1_macro, accuracy, balanced_accuracy, r2, ...) is higher-is-better.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

LOWER_IS_BETTER = frozenset({"mae", "rmse", "wape", "mase"})
PERFECT = {"roc_auc": 1.0, "pr_auc": 1.0, "f1": 1.0, "f1_macro": 1.0, "accuracy": 1.0, "balanced_accuracy": 1.0,
           "roc_auc_ovr": 1.0, "r2": 1.0, "mae": 0.0, "rmse": 0.0, "wape": 0.0, "mase": 0.0}


def higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


def goodness(metric: str, value: float | None) -> float:
    """A number where larger is better (-inf for a missing or non-finite score): for max() and sorting."""
    if value is None or not math.isfinite(value):
        return -math.inf
    return value if higher_is_better(metric) else -value


def best_of(results: Iterable[Any], metric: str) -> Any:
    """The result (anything with .mean(metric)) with the best mean score; the first one on ties."""
    return max(results, key=lambda r: goodness(metric, r.mean(metric)))


def lift(metric: str, best: float | None, dummy: float | None) -> float | None:
    """Share of the possible gain over the dummy that the best model achieved (0..1).

    For scores, the ceiling is the perfect score; for errors, the gain is the share of the dummy's
    error that the best model removed.
    """
    if best is None or dummy is None or not math.isfinite(best) or not math.isfinite(dummy):
        return None
    if higher_is_better(metric):
        room = PERFECT.get(metric, 1.0) - dummy
        gain = best - dummy
    else:
        room = dummy - PERFECT.get(metric, 0.0)
        gain = dummy - best
    if room <= 1e-9:
        return 0.0
    return max(0.0, min(1.0, gain / room))
