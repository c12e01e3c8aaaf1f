"""Baselines under a time budget: a dummy first, then a linear model, HistGradientBoosting, a random
forest and a few stronger configurations while time allows.

All preprocessing sits inside each pipeline, so every fold fits its own imputer, scaler and
encoders: the linear model scales numbers and one-hot encodes categories (bounded:
`max_categories`, infrequent categories grouped, unknown ones ignored); the trees get ordinal
codes (at most 250 per column) and use HistGradientBoosting's native categorical splits. On wide
data (over 500 features) boosting keeps the 300 best features by a univariate test fitted inside
each training fold.
Every estimator has a fixed random_state and n_jobs=1 (the worker runs one BLAS/OpenMP thread).

Each model runs fold by fold; after its first fold, a model that cannot finish before the
deadline is stopped and reported as skipped. Only complete cross-validations are scored.
`fit_seconds` is the wall time of a model's whole cross-validation (fits and predictions).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_selection import SelectKBest, f_classif, f_regression
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, SplineTransformer, StandardScaler

ONE_HOT_MAX = 20
WIDE_FEATURES = 500   # above this many features, boosting works on the WIDE_KEEP best (selected per fold)
WIDE_KEEP = 300
ORDINAL_MAX = 250
METRICS = {
    "binary": ("roc_auc", "pr_auc", "f1", "accuracy", "balanced_accuracy"),
    "multiclass": ("f1_macro", "roc_auc_ovr", "accuracy", "balanced_accuracy"),
    "regression": ("r2", "rmse", "mae"),
}
HEADLINE = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str                    # dummy | linear | hgb | rf | et
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class CVResult:
    spec: ModelSpec
    fold_scores: list[dict[str, float]]
    seconds: float
    complete: bool
    error: str | None = None

    def mean(self, metric: str) -> float:
        vals = [f[metric] for f in self.fold_scores if metric in f and np.isfinite(f[metric])]
        return float(np.mean(vals)) if vals else float("nan")

    def std(self, metric: str) -> float:
        vals = [f[metric] for f in self.fold_scores if metric in f and np.isfinite(f[metric])]
        return float(np.std(vals)) if vals else float("nan")

    def summary(self, metrics: str | tuple[str, ...]) -> dict[str, dict[str, float | None]]:
        """Mean and spread of each metric: `metrics` is a task (its METRICS) or the names themselves."""
        out = {}
        for m in METRICS[metrics] if isinstance(metrics, str) else metrics:
            mean, std = self.mean(m), self.std(m)
            out[m] = {"mean": round(mean, 4) if np.isfinite(mean) else None,
                      "std": round(std, 4) if np.isfinite(std) else None}
        return out


# Candidates --------------------------------------------------------------------------------


def candidates(n_rows: int, n_features: int, task: str, n_classes: int = 2, text: Any = None,
               ranks: tuple[int, ...] | None = None) -> list[ModelSpec]:
    """The models to try, cheapest first; the first four are the baselines named in the report.

    With text columns (the text frame; `text` is scope.text of config.yaml), TF-IDF + linear models come right
    after the linear baseline: one per C of `text.classify_c` (or `text.regress_c`); with ordered classes
    (`ranks`, text.ordinal_ranks), `tfidf_ordinal` (a ridge on the class rank) comes second."""
    small = n_rows <= 3000
    specs = [
        ModelSpec("dummy", "dummy"),
        ModelSpec("linear", "linear", {"C": 1.0}),
    ]
    if text is not None:
        cs = text.regress_c if task == "regression" else text.classify_c
        text_specs = [ModelSpec("tfidf_linear" if i == 0 else f"tfidf_linear_c{i + 1}", "text",
                                {"C": float(c), "min_df": text.min_df}) for i, c in enumerate(cs)]
        if ranks is not None and task == "multiclass":
            text_specs.insert(1, ModelSpec("tfidf_ordinal", "text", {"C": float(text.ordinal_c), "min_df": text.min_df,
                                                                     "ranks": tuple(ranks)}))
        specs += text_specs
    specs += [
        ModelSpec("hist_gradient_boosting", "hgb", _hgb_default(n_rows, n_classes if task == "multiclass" else 1)),
        ModelSpec("random_forest", "rf", {"n_estimators": 60,
                                          "max_features": "sqrt" if task != "regression" else 0.5,
                                          "min_samples_leaf": 1 if small else 2,
                                          "max_samples": None if n_rows <= 6000 else min(1.0, 5000 / (0.8 * n_rows))}),
    ]
    if n_features <= 60:  # splines on numbers: a cheap way for a linear model to bend (ages, seasons, doses)
        specs.append(ModelSpec("linear_spline", "linear", {"C": 1.0, "spline": True}))
    if small:
        specs += [
            ModelSpec("linear_c0.1", "linear", {"C": 0.1}),
            ModelSpec("linear_c10", "linear", {"C": 10.0}),
            ModelSpec("extra_trees", "et", {"n_estimators": 60, "max_features": "sqrt" if task != "regression" else 0.7,
                                            "min_samples_leaf": 1}),
            ModelSpec("hgb_small", "hgb", {"learning_rate": 0.05, "max_iter": 200, "max_depth": 3,
                                           "min_samples_leaf": 5, "l2_regularization": 0.5, "early_stopping": False}),
        ]
    else:
        specs += [
            ModelSpec("hgb_slow", "hgb", {"learning_rate": 0.05, "max_iter": 600, "max_leaf_nodes": 15,
                                          "min_samples_leaf": 20, "l2_regularization": 1.0, "early_stopping": True,
                                          "n_iter_no_change": 20, "validation_fraction": 0.1}),
            ModelSpec("hgb_wide", "hgb", {"learning_rate": 0.1, "max_iter": 400, "max_leaf_nodes": 63,
                                          "min_samples_leaf": 40, "max_features": 0.5, "l2_regularization": 1.0,
                                          "early_stopping": True, "n_iter_no_change": 15, "validation_fraction": 0.1}),
        ]
    return specs


def _hgb_default(n_rows: int, trees_per_iter: int = 1) -> dict[str, Any]:
    """Multiclass boosting grows one tree per class per iteration: fewer, larger steps keep the
    number of trees (the cost) about the same as a binary model."""
    iters = 100 if trees_per_iter <= 3 else max(30, 300 // trees_per_iter)
    params: dict[str, Any] = {"learning_rate": min(0.3, 0.1 * 100 / iters)}
    if trees_per_iter > 3:
        params.update(max_leaf_nodes=15, max_bins=63)
    if n_rows < 2000:
        return {**params, "max_iter": iters, "early_stopping": False}
    return {**params, "max_iter": 3 * iters, "early_stopping": True, "n_iter_no_change": 10,
            "validation_fraction": 0.1}


def make_estimator(spec: ModelSpec, task: str, categorical: np.ndarray, random_state: int):
    cat_idx = np.flatnonzero(categorical).tolist()
    num_idx = np.flatnonzero(~categorical).tolist()
    classify = task != "regression"
    p = dict(spec.params)
    if spec.family == "dummy":
        return DummyClassifier(strategy="prior") if classify else DummyRegressor(strategy="mean")
    if spec.family == "text":
        from bot.scoping.text import make_text_estimator

        return make_text_estimator(p, task, categorical, random_state)
    if spec.family == "linear":
        parts = []
        if num_idx:
            steps = [("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                     ("scale", StandardScaler())]
            if p.get("spline"):
                steps.append(("spline", SplineTransformer(n_knots=5, degree=3, extrapolation="linear")))
            parts.append(("num", Pipeline(steps), num_idx))
        if cat_idx:
            parts.append(("cat", OneHotEncoder(max_categories=ONE_HOT_MAX, handle_unknown="infrequent_if_exist",
                                               min_frequency=2), cat_idx))
        model = (LogisticRegression(C=p.get("C", 1.0), max_iter=1000, random_state=random_state) if classify
                 else Ridge(alpha=1.0 / max(p.get("C", 1.0), 1e-6)))
        return Pipeline([("prep", ColumnTransformer(parts, sparse_threshold=0.3)), ("model", model)])
    # Trees: ordinal codes for categories (bounded), numbers as they are (NaN handled natively)
    prep = None
    if cat_idx:
        # boosting's native categorical splits take at most max_bins categories per feature
        max_cat = min(ORDINAL_MAX, p.get("max_bins", 255)) if spec.family == "hgb" else ORDINAL_MAX
        prep = ColumnTransformer(
            [("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                    encoded_missing_value=np.nan, max_categories=max_cat), cat_idx)],
            remainder="passthrough")
    mask = np.array([True] * len(cat_idx) + [False] * len(num_idx)) if cat_idx else None
    if spec.family == "hgb" and len(categorical) > WIDE_FEATURES:
        # Wide data: histogram boosting costs O(features) per node; keep the best-scoring features,
        # chosen inside each training fold (part of the pipeline, so no leakage).
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        steps = [("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                 ("select", SelectKBest(f_classif if classify else f_regression, k=WIDE_KEEP)),
                 ("model", cls(random_state=random_state, **p))]
        if prep is not None:
            steps.insert(0, ("prep", prep))
        return Pipeline(steps)
    if spec.family == "hgb":
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        model = cls(categorical_features=mask if mask is not None and mask.any() else None,
                    random_state=random_state, **p)
    elif spec.family in ("rf", "et"):
        if spec.family == "rf":
            cls = RandomForestClassifier if classify else RandomForestRegressor
        else:
            cls = ExtraTreesClassifier if classify else ExtraTreesRegressor
        if spec.family == "et":  # extra trees need no NaN: impute inside the pipeline
            model = Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                              ("model", cls(n_jobs=1, random_state=random_state, **p))])
        else:
            model = cls(n_jobs=1, random_state=random_state, **p)
    else:
        raise ValueError(f"unknown model family {spec.family!r}")
    return Pipeline([("prep", prep), ("model", model)]) if prep is not None else model


# Scoring -------------------------------------------------------------------------------------


def score_fold(task: str, y_true: np.ndarray, model: Any, X: np.ndarray, n_classes: int,
               positive: int | None, weights: np.ndarray | None = None) -> dict[str, float]:
    """Every metric of the task on one held-out fold; `weights` (classification) undo a sample that kept
    every positive but only some negatives, so the scores estimate the full data's."""
    if task == "regression":
        pred = np.asarray(model.predict(X), dtype=np.float64)
        return {"r2": float(r2_score(y_true, pred)), "rmse": float(np.sqrt(mean_squared_error(y_true, pred))),
                "mae": float(mean_absolute_error(y_true, pred))}
    proba = full_proba(model, X, n_classes)
    pred = proba.argmax(axis=1)
    w = weights
    out = {"accuracy": float(accuracy_score(y_true, pred, sample_weight=w)),
           "balanced_accuracy": float(balanced_accuracy_score(y_true, pred, sample_weight=w))}
    if task == "binary":
        pos = positive if positive is not None else 1
        truth = (y_true == pos).astype(int)
        out["roc_auc"] = _safe(lambda: roc_auc_score(truth, proba[:, pos], sample_weight=w))
        out["pr_auc"] = _safe(lambda: average_precision_score(truth, proba[:, pos], sample_weight=w))
        out["f1"] = float(f1_score(truth, (pred == pos).astype(int), zero_division=0, sample_weight=w))
    else:
        out["f1_macro"] = float(f1_score(y_true, pred, average="macro", labels=np.arange(n_classes), zero_division=0))
        present = np.unique(y_true)
        if len(present) == n_classes:
            out["roc_auc_ovr"] = _safe(lambda: roc_auc_score(y_true, proba, multi_class="ovr", labels=np.arange(n_classes)))
    return out


def full_proba(model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    classes = np.asarray(getattr(model, "classes_", np.arange(proba.shape[1])), dtype=np.int64)
    if proba.shape[1] == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return proba
    full = np.zeros((proba.shape[0], n_classes))
    full[:, classes] = proba
    return full


def headline(task: str, scores: dict[str, float], metric: str | None = None) -> float:
    return scores.get(metric or HEADLINE[task], float("nan"))


def _safe(fn: Callable[[], float]) -> float:
    try:
        return float(fn())
    except ValueError:
        return float("nan")


# Cross-validation under a deadline -----------------------------------------------------------


def run_folds(spec: ModelSpec, n_folds: int, score_fold_k: Callable[[int], dict[str, float]],
              deadline: float | None) -> CVResult:
    """Fold by fold (`score_fold_k(k)` fits and scores fold k); after a fold, stop when the rest cannot finish
    before the deadline. Every frame's models run through here."""
    started = time.monotonic()
    folds: list[dict[str, float]] = []
    for k in range(n_folds):
        t0 = time.monotonic()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                folds.append(score_fold_k(k))
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            return CVResult(spec, folds, time.monotonic() - started, False, error=exc.__class__.__name__)
        left = n_folds - k - 1
        if deadline is not None and left and time.monotonic() + (time.monotonic() - t0) * left > deadline:
            return CVResult(spec, folds, time.monotonic() - started, False, error="time_budget")
    return CVResult(spec, folds, time.monotonic() - started, True)


def record(res: CVResult, n_folds: int, results: list[CVResult], skipped: list[dict], *, keep_partial: bool,
           unit: str = "folds", on_result: Callable[[int, int, CVResult], None] | None = None, i: int = 0,
           total: int = 0) -> None:
    """File one model's cross-validation: a complete one among the results (and as progress); a headline
    model cut short by the budget keeps the folds it finished, said in `skipped`; anything else is skipped."""
    if not res.complete and keep_partial and res.error == "time_budget" and res.fold_scores:
        res = CVResult(res.spec, res.fold_scores, res.seconds, True, error=None)
        skipped.append({"model": res.spec.name, "reason": f"scored on {len(res.fold_scores)} of {n_folds} {unit} "
                                                          "to stay inside the time budget"})
    if res.complete:
        results.append(res)
        if on_result is not None:
            on_result(i, total, res)
    else:
        skipped.append({"model": res.spec.name, "reason": "time budget" if res.error == "time_budget" else
                        f"failed ({res.error})"})


def run_cv(spec: ModelSpec, X: np.ndarray, y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], task: str,
           categorical: np.ndarray, n_classes: int, positive: int | None, random_state: int,
           deadline: float | None, weights: np.ndarray | None = None) -> CVResult:
    def one(k: int) -> dict[str, float]:
        tr, te = splits[k]
        model = make_estimator(spec, task, categorical, random_state)
        model.fit(X[tr], y[tr])
        return score_fold(task, y[te], model, X[te], n_classes, positive, None if weights is None else weights[te])

    return run_folds(spec, len(splits), one, deadline)


def fit_predict_holdout(spec: ModelSpec, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
                        y_test: np.ndarray, task: str, categorical: np.ndarray, n_classes: int, positive: int | None,
                        random_state: int, weights: np.ndarray | None = None) -> dict[str, float]:
    model = make_estimator(spec, task, categorical, random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train, y_train)
        return score_fold(task, y_test, model, X_test, n_classes, positive, weights)


# Relative cost of a search candidate, from the measured time of a model already run
_COST = {"linear_spline": ("linear", 2.0), "linear_c0.1": ("linear", 1.2), "linear_c10": ("linear", 1.5), "extra_trees": ("random_forest", 1.0),
         "hgb_small": ("hist_gradient_boosting", 1.5), "hgb_slow": ("hist_gradient_boosting", 1.6),
         "hgb_wide": ("hist_gradient_boosting", 2.0)}
ALWAYS = ("dummy", "linear", "tfidf_linear", "hist_gradient_boosting")


@dataclass
class Plan:
    """Time slices of the budget, from the start of model selection (fractions of the budget)."""

    started: float
    budget: float

    def at(self, share: float) -> float:
        return self.started + share * self.budget

    @property
    def selection_deadline(self) -> float:
        return self.at(0.6)


def run_baselines(X: np.ndarray, y: np.ndarray, splits: list, task: str, categorical: np.ndarray, n_classes: int,
                  positive: int | None, random_state: int, plan: Plan,
                  on_result: Callable[[int, int, CVResult], None] | None = None, *,
                  X_text: np.ndarray | None = None, text: Any = None, ranks: tuple[int, ...] | None = None,
                  weights: np.ndarray | None = None) -> tuple[list[CVResult], list[dict]]:
    """Run the candidates in order; return complete results and the skipped ones with a reason.

    `X_text` (the text frame) is X followed by the hashed text counts (text.with_text), for the TF-IDF
    models configured by `text` (scope.text; `ranks`: the classes' order, if they have one); `weights` are per-row scoring weights (see score_fold)."""
    specs = candidates(len(y), X.shape[1], task, n_classes, text=text if X_text is not None else None, ranks=ranks)
    if X.shape[1] == 0:
        specs = [s for s in specs if s.family in ("dummy", "text")]
    results: list[CVResult] = []
    skipped: list[dict] = []
    seconds: dict[str, float] = {}
    for i, spec in enumerate(specs, start=1):
        now = time.monotonic()
        if spec.name not in ALWAYS:
            reason = _skip_reason(spec, now, plan, seconds)
            if reason:
                skipped.append({"model": spec.name, "reason": reason})
                continue
        # the text frame's own model may use more of the budget than the tabular candidates
        deadline = plan.at(0.8) if spec.family == "text" else plan.selection_deadline
        res = run_cv(spec, X_text if spec.family == "text" else X, y, splits, task, categorical, n_classes, positive,
                     random_state, None if spec.name in ("dummy", "linear") else deadline, weights)
        seconds[spec.name] = res.seconds
        # A headline baseline is never dropped for time: it keeps the folds it finished, and says so.
        record(res, len(splits), results, skipped, keep_partial=spec.name in ALWAYS, on_result=on_result, i=i,
               total=len(specs))
    return results, skipped


def _skip_reason(spec: ModelSpec, now: float, plan: Plan, seconds: dict[str, float]) -> str | None:
    if spec.name == "random_forest":
        return "time budget" if now > plan.at(0.35) else None
    base, factor = _COST.get(spec.name) or (("tfidf_linear", 1.0) if spec.family == "text"
                                            else ("hist_gradient_boosting", 2.0))
    if base not in seconds:
        return "time budget"
    # the text frame's own models may start later: they run before the tabular search (their deadline is later)
    if now + seconds[base] * factor > plan.at(0.5 if spec.family == "text" else 0.3):
        return "time budget"
    return None
