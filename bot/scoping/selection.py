"""Model selection per frame: the baselines a frame runs, on the validation it calls for, under the budget.

Each `select_*` returns a `Selection`: every complete result keyed by metric name, the skipped ones,
the dummy (the frame's naive reference), the best on the frame's headline metric, the validation as
JSON, and how to draw the learning curve. Tabular and text share one path (text adds TF-IDF models);
forecasting and recommender have their own engines (forecast.py, recommend.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bot.errors import InputError
from bot.scoping import baselines as bl
from bot.scoping import forecast as fc
from bot.scoping import recommend as rc
from bot.scoping.common import Names, fmt_int
from bot.scoping.convert import as_float
from bot.scoping.curve import learning_curve
from bot.scoping.features import FeatureSet, Validation, build_matrix, sample_rows, select_features
from bot.scoping.frames import codes
from bot.scoping.metrics import best_of, goodness
from bot.scoping.text import TextPlan, hash_texts, ordinal_ranks, plan_text, with_text

Emit = Callable[[str, dict[str, Any]], None]
CHECK_MAX_ROWS = 200_000


@dataclass
class Best:
    """The chosen model and its headline score (the held-out check on more rows when one ran)."""

    result: bl.CVResult
    score: float | None
    selection_score: float | None = None
    checked: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.result.spec.name, "score": self.score}
        if self.checked is not None:
            out["checked"] = self.checked
            out["selection_score"] = self.selection_score
        return out


@dataclass
class Selection:
    metric: str                    # the headline metric
    metrics: tuple[str, ...]       # every metric scored (the report's `scores` keys)
    task: str                      # as reported: binary | multiclass | regression
    validation: dict[str, Any]     # the report's `cv`
    results: list[bl.CVResult]
    skipped: list[dict[str, Any]]
    dummy: bl.CVResult
    best: Best
    rows: int                      # rows (or interactions) model selection used
    of: int                        # of how many
    plan: bl.Plan
    curve: Callable[[float], list[dict[str, Any]]] | None = None
    with_leaks: Callable[[], dict[str, Any] | None] | None = None
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def best_is_dummy(self) -> bool:
        return self.best.result is self.dummy


def progress(emit: Emit, metric: str, metrics: tuple[str, ...]) -> Callable[[int, int, bl.CVResult], None]:
    """The on_result hook: each finished model reaches the user with the leader so far."""
    leader: dict[str, Any] = {}

    def on_result(i: int, total: int, res: bl.CVResult) -> None:
        score = res.mean(metric)
        if np.isfinite(score) and (not leader or goodness(metric, score) > goodness(metric, leader["score"])):
            leader.update(model=res.spec.name, score=round(score, 4), metric=metric)
        emit("baselines", {"i": i, "n": total, "model": res.spec.name,
                           "scores": {m: v["mean"] for m, v in res.summary(metrics).items()},
                           "best": dict(leader) if leader else None})

    return on_result


def _round(x: float) -> float | None:
    return round(float(x), 4) if np.isfinite(x) else None


def _pick(results: list[bl.CVResult], metric: str, dummy: bl.CVResult) -> bl.CVResult:
    models = [r for r in results if r is not dummy]
    return best_of(models, metric) if models else dummy


# Tabular and text ----------------------------------------------------------------------------------


def select_tabular(table: Any, names: Names, found: Any, budget: float, limits: Any, emit: Emit) -> Selection:
    """Shuffled, grouped or time-ordered folds (as chosen); TF-IDF models join when the frame is text; with rare
    positives the headline is PR-AUC and every positive is in the selection sample (negatives weighted back)."""
    target, features, frame_ = found.target, found.features, found.frame
    rs = limits.random_state
    n = len(target.y)
    metric = "pr_auc" if frame_.rare else target.metric
    sel = sample_rows(n, limits.selection_sample_rows, target.y, target.task, found.validation, rs)
    weights = None
    if frame_.rare and len(sel) < n:
        sel, weights = _every_positive(sel, target)
    X = build_matrix(table.frame, features, target.rows[sel])
    text_plan = plan_text(table.frame, frame_.text, limits.text) if frame_.text else None
    X_text = with_text(X, hash_texts(table.frame, text_plan, target.rows[sel])) if text_plan else None
    y = target.y[sel]
    validation, splits = _splits(found.validation, X, y, target.task, sel, rs)
    plan = bl.Plan(started=time.monotonic(), budget=budget)
    metrics = bl.METRICS[target.task]
    results, skipped = bl.run_baselines(X, y, splits, target.task, features.categorical, len(target.classes),
                                        target.positive, rs, plan, progress(emit, metric, metrics),
                                        X_text=X_text, text=limits.text, ranks=ordinal_ranks(target.classes),
                                        weights=weights)
    dummy = next(r for r in results if r.spec.family == "dummy")
    chosen = _pick(results, metric, dummy)
    best = Best(chosen, _round(chosen.mean(metric)))
    if len(sel) < n and chosen is not dummy:
        checked = _check_on_more(chosen, table.frame, features, text_plan, target, validation, plan, n, len(sel),
                                 rs, metric)
        if checked:
            # The headline is what the chosen model reaches trained on more of the data; the sample's
            # cross-validated score (used to choose it) stays beside it.
            best = Best(chosen, checked["score"], selection_score=best.score, checked=checked)

    def curve(deadline: float) -> list[dict[str, Any]]:
        Xb = X_text if chosen.spec.family == "text" else X
        return learning_curve(chosen, Xb, y, splits, target.task, features.categorical, len(target.classes),
                              target.positive, rs, deadline, ordered=validation.ordered, metric=metric,
                              weights=weights)

    def leaky() -> dict[str, Any] | None:
        return _with_leaks(chosen, results, table.frame, found, text_plan, sel, y, splits, weights, plan, metric,
                           names, rs)

    facts: dict[str, Any] = {}
    if frame_.rare and frame_.base_rate is not None:
        facts["base_rate"] = round(frame_.base_rate, 5)
    note = (f"model selection on a random sample of {len(sel):,} of {n:,} rows" if len(sel) < n
            else f"all {n:,} rows with a target value")
    if weights is not None:
        note += " (every positive kept; negatives sampled and weighted back to their share in the scores)"
    facts["selection_note"] = note
    return Selection(metric, metrics, target.task, {**validation.to_json(names), "sample_rows": int(len(sel))},
                     results, skipped, dummy, best, int(len(sel)), n, plan, curve=None if chosen is dummy else curve,
                     with_leaks=leaky if found.leaks and chosen is not dummy else None, facts=facts)


def _every_positive(sel: np.ndarray, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """The sample plus every positive row; weights that give sampled negatives their full-data share."""
    positive = np.flatnonzero(target.y == target.positive)
    rows = np.union1d(sel, positive)
    is_pos = target.y[rows] == target.positive
    neg_total = int((target.y != target.positive).sum())
    neg_kept = max(int((~is_pos).sum()), 1)
    return rows, np.where(is_pos, 1.0, neg_total / neg_kept)


def _splits(validation: Validation, X: np.ndarray, y: np.ndarray, task: str, sel: np.ndarray, rs: int):
    def fits(tr: np.ndarray, te: np.ndarray, scored: bool = False) -> bool:
        """Both parts have rows; a classifier's training rows (and, to be scored, its test rows) two classes."""
        return len(te) > 0 and len(tr) > 0 and (task == "regression" or (
            len(np.unique(y[tr])) >= 2 and (not scored or len(np.unique(y[te])) >= 2)))

    try:
        splits = validation.split(X, y, sel, task, rs)
        if all(fits(tr, te) for tr, te in splits):
            return validation, splits
    except ValueError:
        splits = []
    # Time-ordered folds where some training or test windows hold one class only (failures that come in a few
    # episodes, a product launched mid-way): the folds that can be scored are kept, with fewer and longer
    # windows if need be, so that every fold still trains on the past only instead of shuffling time away.
    for k in range(validation.folds, 1, -1) if validation.ordered else ():
        try:
            cut = splits if k == validation.folds else replace(validation, folds=k).split(X, y, sel, task, rs)
        except ValueError:
            continue
        kept = [(tr, te) for tr, te in cut if fits(tr, te, scored=True)]
        if len(kept) >= 2:
            note = (f"{validation.note} {len(kept)} time-ordered folds were used ({validation.folds} were planned): "
                    "the others had a single class in their training or test rows.")
            return replace(validation, folds=len(kept), note=note), kept
    kind = "kfold" if task == "regression" else "stratified_kfold"
    why = (": the classes fall in too few stretches of time to score folds that run forward, so this shuffled "
           "score is likely optimistic" if validation.ordered and task != "regression" else "")
    fallback = Validation(kind, validation.folds,
                          f"shuffled {validation.folds}-fold, random_state {rs} (the "
                          f"{validation.kind.replace('_', ' ')} split was not possible on this data{why}).")
    return fallback, list(fallback.splitter(task, rs).split(X, y))


def _check_on_more(best: bl.CVResult, frame, features: FeatureSet, text: TextPlan | None, target, validation: Validation,
                   plan: bl.Plan, n: int, n_sel: int, rs: int, metric: str) -> dict[str, Any] | None:
    """Fit the chosen model once on more rows (a larger sample, last fold held out) if time allows."""
    per_fold = best.seconds / max(len(best.fold_scores), 1)
    remaining = plan.at(0.8) - time.monotonic()
    # fitting cost grows about linearly with rows; keep a margin
    rows = min(n, CHECK_MAX_ROWS, int(n_sel * remaining / max(per_fold * 1.5, 1e-3)))
    if rows < 2 * n_sel:
        return None
    pos = sample_rows(n, rows, target.y, target.task, validation, rs + 1)
    X = build_matrix(frame, features, target.rows[pos])
    if best.spec.family == "text":
        X = with_text(X, hash_texts(frame, text, target.rows[pos]))
    y = target.y[pos]
    try:
        splits = validation.split(X, y, pos, target.task, rs)
        tr, te = splits[-1]
        scores = bl.fit_predict_holdout(best.spec, X[tr], y[tr], X[te], y[te], target.task, features.categorical,
                                        len(target.classes), target.positive, rs)
    except (ValueError, MemoryError):
        return None
    score = bl.headline(target.task, scores, metric)
    if not np.isfinite(score):
        return None
    return {"rows": int(len(pos)), "train_rows": int(len(tr)), "test_rows": int(len(te)), "score": _round(score),
            "note": f"{best.spec.name} refitted on {len(tr):,} rows and scored on {len(te):,} held-out rows"}


def _with_leaks(best: bl.CVResult, results: list[bl.CVResult], frame, found: Any, text: TextPlan | None,
                sel: np.ndarray, y: np.ndarray, splits: list, weights: np.ndarray | None, plan: bl.Plan, metric: str,
                names: Names, rs: int) -> dict[str, Any] | None:
    """The chosen model's score with the leaking columns put back (same folds): shown beside the headline, never
    as it. Skipped when it would not fit in the budget."""
    target = found.target
    group_col = found.validation.column if found.validation.groups is not None else None
    fs = select_features(found.profile, target, [], group_col=group_col)
    if fs.n == found.features.n:
        return None
    if time.monotonic() + best.seconds * 1.3 > plan.at(1.0):  # too slow to refit: the linear baseline says it
        best = next((r for r in results if r.spec.name == "linear"), None)
        if best is None or time.monotonic() + best.seconds * 1.3 > plan.at(1.0):
            return None
    X = build_matrix(frame, fs, target.rows[sel])
    if best.spec.family == "text":
        X = with_text(X, hash_texts(frame, text, target.rows[sel]))
    res = bl.run_cv(best.spec, X, y, splits, target.task, fs.categorical, len(target.classes), target.positive, rs,
                    plan.at(1.0), weights)
    score = res.mean(metric)
    if not res.complete or not np.isfinite(score):
        return None
    cols = [lk.column for lk in found.leaks]
    reasons = [f"{names.code(lk.column)}: {_leak_reason(lk)}" for lk in found.leaks[:5]]
    return {"model": best.spec.name, "score": _round(score), "columns": [names.show(c) for c in cols],
            "credible": False,
            "reason": ("not credible: the model would use information that is not there when a prediction is made ("
                       + "; ".join(reasons) + ").")}


def _leak_reason(leak: Any) -> str:
    for attr in ("reason", "message", "how"):
        text = getattr(leak, attr, None)
        if isinstance(text, str) and text:
            return text
    return "it predicts the target suspiciously well"


# Forecasting ---------------------------------------------------------------------------------------


def select_forecast(table: Any, names: Names, found: Any, budget: float, limits: Any, emit: Emit,
                    cv_request: str) -> Selection:
    target, ti = found.target, found.frame.time
    rs = limits.random_state
    keys = {ti.column, *ti.series}
    fs = _without(found.features, keys)
    exog = build_matrix(table.frame, fs, target.rows) if fs.n else None
    panel = fc.build_panel(table.frame, target.rows, target.y, ti, exog, fs.categorical, rs)
    try:
        backtest = fc.plan_backtest(panel, limits.cv_folds)
    except ValueError:
        raise InputError(f"the history is too short to backtest a forecast: {fmt_int(panel.steps)} time steps of "
                         f"{names.code(ti.column)}.", hint="Upload a longer history, or use --frame tabular.") from None
    plan = bl.Plan(started=time.monotonic(), budget=budget)
    metric = fc.headline_metric(panel)
    results, skipped = fc.run_models(panel, backtest, rs, plan.at(0.9), progress(emit, metric, fc.METRICS))
    if not results:
        raise InputError("no forecasting baseline could be scored on this history.",
                         hint="Check the date column and the target, or use --frame tabular.")
    dummy = results[0]
    chosen = _pick(results, metric, dummy)
    series = (f" for each of {fmt_int(panel.n_series)} series ({names.many(ti.series)})" if ti.series else "")
    subset = (f" A random {fmt_int(panel.n_series)} of the {fmt_int(panel.series_total)} series were modelled to "
              "stay inside the time budget." if panel.n_series < panel.series_total else "")
    forced = ""
    if cv_request in ("kfold", "group"):
        forced = (f" --cv {cv_request} was not used: a forecast is validated forward in time (use --frame tabular "
                  "to score rows with shuffled or grouped folds).")
    note = (f"rolling-origin backtest on {names.code(ti.column)} ({ti.frequency}): the last "
            f"{len(backtest.origins)} blocks of {backtest.horizon} steps; each fold trains on everything before its "
            f"block and forecasts the whole block{series}, never seeing a value inside it.{subset}{forced}")
    validation = {"kind": "time_backtest", "folds": len(backtest.origins), "horizon": backtest.horizon,
                  "column": names.show(ti.column), "note": note, "sample_rows": panel.rows}
    notes = [f"MASE divides each error by the series' own in-sample seasonal-naive error (season {backtest.season} "
             "steps): below 1 beats the seasonal naive forecast."]
    if fs.n:
        notes.append(f"The other columns ({names.many(fs.columns)}) are used as known for the forecast period; if "
                     "they are not known in advance (weather, prices), the project needs forecasts of them or must "
                     "leave them out.")

    def curve(deadline: float) -> list[dict[str, Any]]:
        return fc.learning_curve(chosen, panel, backtest, metric, rs, deadline)

    facts = {"horizon": backtest.horizon, "frequency": ti.frequency, "season": backtest.season,
             "selection_note": f"all {fmt_int(panel.rows)} rows ({fmt_int(panel.n_series)} series x "
                               f"{fmt_int(panel.steps)} steps)"}
    return Selection(metric, fc.METRICS, "regression", validation, results, skipped, dummy,
                     Best(chosen, _round(chosen.mean(metric))), panel.rows, len(target.y), plan,
                     curve=None if chosen is dummy else curve, notes=notes, facts=facts)


def _without(fs: FeatureSet, columns: set[str]) -> FeatureSet:
    keep = [j for j, src in enumerate(fs.sources) if src not in columns]
    return FeatureSet(columns=[c for c in fs.columns if c not in columns], names=[fs.names[j] for j in keep],
                      sources=[fs.sources[j] for j in keep], categorical=fs.categorical[keep], excluded=fs.excluded)


# Recommender ---------------------------------------------------------------------------------------


def rating_values(table: Any, found: Any) -> tuple[np.ndarray, np.ndarray]:
    """(rows, values) of the rating or interaction: the numbers as written, or 0/1 for a two-class target."""
    target = found.target
    if found.profile.columns[target.name].kind == "numeric":
        values = as_float(table.frame[target.name])
        rows = np.flatnonzero(np.isfinite(values))
        return rows, values[rows]
    if target.task == "binary":
        return target.rows, (target.y == target.positive).astype(np.float64)
    raise InputError(f"the recommender frame needs a numeric rating or a two-class interaction; "
                     f"{target.name!r} has {len(target.classes)} classes of text.",
                     hint="Use --frame tabular to classify it instead.")


def select_recommender(table: Any, names: Names, found: Any, budget: float, limits: Any, emit: Emit) -> Selection:
    fr = found.frame
    rs = limits.random_state
    rows, values = rating_values(table, found)
    data = rc.interactions(codes(table.frame, fr.user, rows), codes(table.frame, fr.item, rows), values)
    data, total = rc.sample(data, rs)
    folds = rc.splits(data, limits.cv_folds, rs)
    plan = bl.Plan(started=time.monotonic(), budget=budget)
    metric = data.metric
    results, skipped = rc.run_models(data, folds, rs, plan.at(0.9), progress(emit, metric, data.metrics))
    dummy = results[0]
    chosen = _pick(results, metric, dummy)
    cold = rc.cold_start(data)
    sampled = (f" on a random sample of {fmt_int(len(data.value))} of {fmt_int(total)} interactions"
               if len(data.value) < total else "")
    validation = {"kind": "interaction_kfold", "folds": len(folds),
                  "note": (f"shuffled {len(folds)}-fold over interactions{sampled}, random_state {rs}: each fold holds "
                           f"out a share of the ratings of {names.code(fr.user)} x {names.code(fr.item)}; a user or "
                           "item not seen in training gets the global mean (cold start)."),
                  "sample_rows": int(len(data.value))}

    def curve(deadline: float) -> list[dict[str, Any]]:
        return rc.learning_curve(chosen, data, folds, metric, rs, deadline)

    facts = {"users": data.n_users, "items": data.n_items, "interactions": int(len(data.value)), **cold,
             "selection_note": f"{fmt_int(len(data.value))} of {fmt_int(total)} interactions"}
    return Selection(metric, data.metrics, "binary" if data.binary else "regression", validation, results, skipped,
                     dummy, Best(chosen, _round(chosen.mean(metric))), int(len(data.value)), total, plan,
                     curve=None if chosen is dummy else curve, notes=rc.notes(data, cold), facts=facts)
