"""Orchestration: a request in, the scope report (a JSON-ready dict) and its chart out.

`build_report` runs typed stages, each a function returning a dataclass the next stage reads:

  check_request  -> Options        the request's budget and estimate block, checked before any work
  load           -> Loaded         bytes -> typed table (load, convert), row/column limits
  understand     -> Understanding  profile, target, warnings, leakage, validation, features
  select_models  -> Selection      baselines under the budget on a stated sample; the best, checked on more rows
  draw_curve     -> Curve          the best model's learning curve and a plain reading of it
  assemble       -> dict           the report; then add_estimate (hours, quote) and the chart

Report keys (the contract in issue 5, plus extras):
  rows, columns            data rows and columns read from the file
  task, target, metric     metric: roc_auc (binary) | f1_macro (multiclass) | r2 (regression)
  cv                       {"kind": stratified_kfold|kfold|time_series|group_kfold, "folds", "note", ...}
  baselines                [{"model", "scores": {METRIC: {"mean", "std"}}, "fit_seconds"}], complete CVs only;
                           fit_seconds is the wall time of the model's whole cross-validation
  best                     {"model", "score"} on `metric`; when selection ran on a sample and the chosen model
                           was refitted on more rows, "score" is that held-out score, with "selection_score"
                           (the sample's CV mean) and "checked" (rows, note) beside it
  dummy                    the dummy baseline's score on `metric` (a number; the dummy is also in baselines)
  warnings                 [{"code", "column", "message"}]
  learning_curve           [{"train_size", "score"}]
  estimate                 {"phases": [{"name", "hours_low", "hours_high", "drivers"}], "hours_low", "hours_high"}
  quote                    null, or {"currency", "unit", "rate", "low", "high", ...} with a rate
  seconds                  wall time of the job
Extras: file, profile, target_summary, features, selection, skipped_models, learning_curve_reading.
Every name and cell in the report is display-safe; the report holds counts and scores, never rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.errors import InputError
from bot.scoping import baselines as bl
from bot.scoping.checks import (
    Leak,
    leak_scan,
    leak_warnings,
    profile_warnings,
    target_warnings,
    too_good_warning,
)
from bot.scoping.common import Names, fmt_int, warning
from bot.scoping.convert import TypedTable, convert_table
from bot.scoping.curve import learning_curve, reading
from bot.scoping.estimate import (
    EstimateConfig,
    check_rate,
    estimate,
    findings,
    lift_over_dummy,
    quote,
    validate_estimate_block,
)
from bot.scoping.features import (
    CV_CHOICES,
    FeatureSet,
    Validation,
    build_matrix,
    choose_validation,
    sample_rows,
    select_features,
)
from bot.scoping.load import load_table
from bot.scoping.profile import Profile, profile_json, profile_table
from bot.scoping.target import TASKS, Target, build_target, choose_target, target_summary
from bot.textsafe import display_name

Emit = Callable[[str, dict[str, Any]], None]
MAX_PER_CODE = 25
CHECK_MAX_ROWS = 200_000
LEARNING_CURVE_SHARE = 0.15  # of the budget, at most


# Stage results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What the request asks for, checked before the file is read."""

    budget: float
    estimate: EstimateConfig


@dataclass
class Loaded:
    table: TypedTable

    @property
    def names(self) -> Names:
        return self.table.display

    @property
    def rows(self) -> int:
        return int(self.table.frame.shape[0])

    @property
    def columns(self) -> int:
        return int(self.table.frame.shape[1])


@dataclass
class Understanding:
    """What the data is: its profile, the target, what to warn about, how to validate, what to use."""

    profile: Profile
    target: Target
    leaks: list[Leak]
    validation: Validation
    features: FeatureSet
    warnings: list[dict[str, Any]]


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
    """Model selection on a sample: every complete baseline, the skipped ones, the dummy and the best."""

    rows: np.ndarray               # positions into the target's rows
    of: int                        # rows with a target value
    X: np.ndarray | None
    y: np.ndarray
    validation: Validation         # as used (a fallback when the chosen split was impossible)
    splits: list[tuple[np.ndarray, np.ndarray]]
    plan: bl.Plan
    results: list[bl.CVResult]
    skipped: list[dict[str, Any]]
    dummy: bl.CVResult
    best: Best

    @property
    def best_is_dummy(self) -> bool:
        return self.best.result is self.dummy


@dataclass
class Curve:
    points: list[dict[str, Any]] = field(default_factory=list)
    reading: str = ""

    @property
    def rising(self) -> bool:
        return self.reading.startswith("Still rising")


# The pipeline --------------------------------------------------------------------------------


def build_report(request: Any, settings: Any, emit: Emit | None = None,
                 on_loaded: Callable[[], None] | None = None) -> tuple[dict[str, Any], bytes | None]:
    """Run a scope in this process; `on_loaded` is called once the file is parsed and typed."""
    started = time.monotonic()
    emit = emit or (lambda stage, info: None)
    limits = settings.scope
    options = check_request(request, limits)
    loaded = load(request, limits, emit, on_loaded)
    found = understand(loaded, request, limits)
    selection = select_models(loaded, found, options, limits, emit)
    curve = draw_curve(selection, found, options, limits, emit)
    report = assemble(request, loaded, found, selection, curve)
    emit("estimate", {})
    add_estimate(report, request, settings, found, selection, curve, options)
    png = _chart(report, loaded, found) if getattr(request, "chart", True) else None
    report["seconds"] = round(time.monotonic() - started, 2)
    return report, png


def check_request(request: Any, limits: Any) -> Options:
    if request.task not in TASKS:
        raise InputError(f"unknown task '{display_name(request.task)}'.", hint=f"Use one of: {', '.join(TASKS)}.")
    if request.cv not in CV_CHOICES:
        raise InputError(f"unknown validation '{display_name(request.cv)}'.", hint=f"Use one of: {', '.join(CV_CHOICES)}.")
    config = validate_estimate_block(request.estimate)
    if request.rate is not None:
        check_rate(request.rate, request.unit, request.currency)
    budget = float(request.budget if request.budget is not None else limits.budget_seconds)
    if not np.isfinite(budget) or budget <= 0:
        raise InputError("the budget must be a positive number of seconds.", hint="For example --budget 20.")
    return Options(budget=budget, estimate=config)


def load(request: Any, limits: Any, emit: Emit, on_loaded: Callable[[], None] | None) -> Loaded:
    emit("loading", {"file": display_name(request.filename)})
    raw = load_table(path=request.path, data=request.data, filename=request.filename, limits=limits)
    emit("profiling", {"rows": raw.rows, "columns": len(raw.names)})
    table = convert_table(raw, limits)
    del raw
    if on_loaded is not None:
        on_loaded()
    loaded = Loaded(table)
    if loaded.rows < limits.min_rows:
        raise InputError(f"the file has {fmt_int(loaded.rows)} row{'s' if loaded.rows != 1 else ''} of data; need at "
                         f"least {limits.min_rows} rows to fit baselines (too few).", hint="Upload more rows.")
    if loaded.columns < 2:
        raise InputError("the file has only one column: there is nothing to predict it from (check the delimiter).",
                         hint="Upload a table with the target and at least one feature column.")
    return loaded


def understand(loaded: Loaded, request: Any, limits: Any) -> Understanding:
    frame, names = loaded.table.frame, loaded.names
    rs = limits.random_state
    profile = profile_table(loaded.table)
    target_name = choose_target(frame, profile, names, request.target)
    target = build_target(frame, profile, names, target_name, request.task, limits)
    if len(target.y) < limits.min_rows:
        raise InputError(f"only {fmt_int(len(target.y))} rows have a usable target value; need at least "
                         f"{limits.min_rows} rows (too few).", hint="Upload more labelled rows.")
    warns = (list(loaded.table.warnings) + profile_warnings(profile, names, target_name)
             + target_warnings(target, names, loaded.rows))
    leaks = leak_scan(frame, profile, target, names, rs, limits.leakage)
    validation = choose_validation(frame, profile, target, names, limits.cv_folds, rs, prefer=request.cv,
                                   limits=limits.structure)
    # validation.leaks (leak_entity, leak_future) are what the folds guard against: warned about, no column dropped
    warns += leak_warnings(leaks + validation.leaks, names) + validation.warnings
    group_col = validation.column if validation.groups is not None else None
    features = select_features(profile, target, [lk.column for lk in leaks], group_col=group_col)
    if features.n == 0:
        warns.append(warning("no_features", None,
                             "no usable feature columns: every other column is an ID, free text, constant, empty or a "
                             "leakage suspect, so only the dummy baseline ran. Add columns that describe each row."))
    return Understanding(profile, target, leaks, validation, features, warns)


def select_models(loaded: Loaded, found: Understanding, options: Options, limits: Any, emit: Emit) -> Selection:
    """Baselines on a stated sample under the budget; the best is checked on more rows when time allows."""
    target, features = found.target, found.features
    rs = limits.random_state
    n = len(target.y)
    sel = sample_rows(n, limits.selection_sample_rows, target.y, target.task, found.validation, rs)
    X = build_matrix(loaded.table.frame, features, target.rows[sel])
    y = target.y[sel]
    validation, splits = _splits(found.validation, X, y, target.task, sel, rs)
    plan = bl.Plan(started=time.monotonic(), budget=options.budget)
    metric = target.metric
    leader: dict[str, Any] = {}

    def on_result(i: int, total: int, res: bl.CVResult) -> None:
        # The first scores reach the user as progress: the leader so far (the dummy until a model beats it).
        score = res.mean(metric)
        if np.isfinite(score) and (not leader or score > leader["score"]):
            leader.update(model=res.spec.name, score=round(score, 4), metric=metric)
        emit("baselines", {"i": i, "n": total, "model": res.spec.name,
                           "scores": {m: v["mean"] for m, v in res.summary(target.task).items()},
                           "best": dict(leader) if leader else None})

    results, skipped = bl.run_baselines(X, y, splits, target.task, features.categorical, len(target.classes),
                                        target.positive, rs, plan, on_result)
    dummy = next(r for r in results if r.spec.family == "dummy")
    models = [r for r in results if r.spec.family != "dummy"]
    chosen = max(models, key=lambda r: _finite(r.mean(metric))) if models else dummy
    best = Best(chosen, _round(chosen.mean(metric)))
    if len(sel) < n and chosen is not dummy:
        checked = _check_on_more(chosen, loaded.table.frame, features, target, validation, plan, n, len(sel), rs)
        if checked:
            # The headline is what the chosen model reaches trained on more of the data; the sample's
            # cross-validated score (used to choose it) stays beside it.
            best = Best(chosen, checked["score"], selection_score=best.score, checked=checked)
    return Selection(rows=sel, of=n, X=X, y=y, validation=validation, splits=splits, plan=plan, results=results,
                     skipped=skipped, dummy=dummy, best=best)


def draw_curve(selection: Selection, found: Understanding, options: Options, limits: Any, emit: Emit) -> Curve:
    best = selection.best.result
    target = found.target
    emit("learning_curve", {"model": best.spec.name})
    points: list[dict[str, Any]] = []
    if not selection.best_is_dummy:
        try:
            deadline = min(selection.plan.at(1.0), time.monotonic() + LEARNING_CURVE_SHARE * options.budget)
            points = learning_curve(best, selection.X, selection.y, selection.splits, target.task,
                                    found.features.categorical, len(target.classes), target.positive,
                                    limits.random_state, deadline, ordered=selection.validation.ordered)
        except (ValueError, MemoryError):
            points = []
    selection.X = None  # the matrix is not needed past this stage
    return Curve(points, reading(points, target.metric))


def assemble(request: Any, loaded: Loaded, found: Understanding, selection: Selection, curve: Curve) -> dict[str, Any]:
    names, target, features = loaded.names, found.target, found.features
    metric = target.metric
    budget = selection.plan.budget
    report: dict[str, Any] = {
        "rows": loaded.rows,
        "columns": loaded.columns,
        "task": target.task,
        "target": names.show(target.name),
        "metric": metric,
        "cv": selection.validation.to_json(names),
        "baselines": [{"model": r.spec.name, "scores": r.summary(target.task), "fit_seconds": round(r.seconds, 2)}
                      for r in selection.results],
        "best": selection.best.to_json(),
        "dummy": _round(selection.dummy.mean(metric)),
        "warnings": [],
        "learning_curve": curve.points,
        "learning_curve_reading": curve.reading,
        "estimate": None,
        "quote": None,
        "seconds": None,
    }
    warns = list(found.warnings)
    if not selection.best_is_dummy:
        too_good = too_good_warning(_finite(selection.best.result.mean(metric)), metric, target.task)
        if too_good:
            warns.append(too_good)
    warns += _skip_warnings(selection.skipped, budget)
    report["warnings"] = _cap_warnings(warns)
    n, n_sel = selection.of, len(selection.rows)
    report["cv"]["sample_rows"] = int(n_sel)
    report["selection"] = {"rows": int(n_sel), "of": int(n),
                           "note": (f"model selection on a random sample of {n_sel:,} of {n:,} rows"
                                    + ("; the best model was checked on more rows" if selection.best.checked else ""))
                           if n_sel < n else f"all {n:,} rows with a target value"}
    report["skipped_models"] = selection.skipped
    report["file"] = _file_json(request.filename, loaded.table.meta)
    report["profile"] = profile_json(found.profile, names)
    report["target_summary"] = target_summary(target, names)
    report["features"] = {"used": features.n, "columns": len(features.columns),
                          "excluded": [{"column": names.show(c), "reason": why}
                                       for c, why in list(features.excluded.items())[:50]]}
    if found.leaks:
        report["leakage"] = {"excluded": [names.show(lk.column) for lk in found.leaks],
                             "note": "scores are shown without these columns"}
    return report


def add_estimate(report: dict[str, Any], request: Any, settings: Any, found: Understanding, selection: Selection,
                 curve: Curve, options: Options) -> None:
    """Hours by phase from the findings, and a quote range when the request has a rate."""
    metric = found.target.metric
    best, dummy = selection.best.result, selection.dummy
    lift = lift_over_dummy(metric, _finite_or_none(best.mean(metric)), _finite_or_none(dummy.mean(metric)))
    facts = findings(report, lift=lift if not selection.best_is_dummy else 0.0, curve_rising=curve.rising,
                     leaks=len(found.leaks), kinds=report["profile"]["kinds"], config=options.estimate)
    report["estimate"] = estimate(facts, options.estimate)
    if lift is not None:
        report["estimate"]["lift_over_dummy"] = round(lift, 3)
    if request.rate is not None:
        hpd = options.estimate.hours_per_day or settings.estimate_defaults.hours_per_day
        report["quote"] = quote(report["estimate"], rate=float(request.rate), unit=request.unit,
                                currency=request.currency, hours_per_day=hpd)


# Helpers -------------------------------------------------------------------------------------


def _splits(validation: Validation, X: np.ndarray, y: np.ndarray, task: str, sel: np.ndarray, rs: int):
    try:
        splits = validation.split(X, y, sel, task, rs)
        usable = all(len(te) > 0 and len(tr) > 0 for tr, te in splits) and (
            task == "regression" or all(len(np.unique(y[tr])) >= 2 for tr, _ in splits))
        if usable:
            return validation, splits
    except ValueError:
        pass
    kind = "kfold" if task == "regression" else "stratified_kfold"
    fallback = Validation(kind, validation.folds,
                          f"shuffled {validation.folds}-fold, random_state {rs} (the "
                          f"{validation.kind.replace('_', ' ')} split was not possible on this data).")
    return fallback, list(fallback.splitter(task, rs).split(X, y))


def _check_on_more(best: bl.CVResult, frame, features, target, validation: Validation, plan: bl.Plan, n: int,
                   n_sel: int, rs: int) -> dict[str, Any] | None:
    """Fit the chosen model once on more rows (a larger sample, last fold held out) if time allows."""
    per_fold = best.seconds / max(len(best.fold_scores), 1)
    deadline = plan.at(0.8)
    remaining = deadline - time.monotonic()
    rows = min(n, CHECK_MAX_ROWS)
    # fitting cost grows about linearly with rows; keep a margin
    affordable = int(n_sel * remaining / max(per_fold * 1.5, 1e-3))
    rows = min(rows, affordable)
    if rows < 2 * n_sel:
        return None
    pos = sample_rows(n, rows, target.y, target.task, validation, rs + 1)
    X = build_matrix(frame, features, target.rows[pos])
    y = target.y[pos]
    try:
        splits = validation.split(X, y, pos, target.task, rs)
        tr, te = splits[-1]
        scores = bl.fit_predict_holdout(best.spec, X[tr], y[tr], X[te], y[te], target.task, features.categorical,
                                        len(target.classes), target.positive, rs)
    except (ValueError, MemoryError):
        return None
    score = bl.headline(target.task, scores)
    if not np.isfinite(score):
        return None
    return {"rows": int(len(pos)), "train_rows": int(len(tr)), "test_rows": int(len(te)), "score": _round(score),
            "note": f"{best.spec.name} refitted on {len(tr):,} rows and scored on {len(te):,} held-out rows"}


def _skip_warnings(skipped: list[dict[str, Any]], budget: float) -> list[dict[str, Any]]:
    out = []
    for s in skipped:
        if s["model"] in ("random_forest", "hist_gradient_boosting") and s["reason"] == "time budget":
            out.append(warning("time_budget", None,
                               f"the {s['model'].replace('_', ' ')} baseline was skipped to stay inside the "
                               f"{budget:g} s budget; run again with a larger --budget to include it."))
        elif s["reason"].startswith("scored on"):
            out.append(warning("time_budget", None,
                               f"the {s['model'].replace('_', ' ')} baseline was {s['reason']} of {budget:g} s; "
                               "run again with a larger --budget for all folds."))
    return out


def _chart(report: dict[str, Any], loaded: Loaded, found: Understanding) -> bytes | None:
    missing = [(loaded.names.show(c.name), c.missing_share) for c in found.profile.columns.values()]
    try:
        from bot.scoping.plot import scope_chart

        return scope_chart(report, missing)
    except (ValueError, RuntimeError, OverflowError, MemoryError, RecursionError, KeyError, TypeError):
        return None


def _cap_warnings(warns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for w in warns:
        k = seen.get(w["code"], 0)
        seen[w["code"]] = k + 1
        if k < MAX_PER_CODE:
            out.append(w)
    for code, count in seen.items():
        if count > MAX_PER_CODE:
            out.append(warning(code, None, f"{count - MAX_PER_CODE:,} more `{code}` warnings not listed "
                                           f"({count:,} in total)."))
    return out


def _file_json(filename: str, meta: dict[str, Any]) -> dict[str, Any]:
    out = {"name": display_name(filename)}
    for key in ("bytes", "compressed", "compressed_bytes", "encoding", "delimiter", "header_line", "line_endings"):
        if key in meta:
            out[key] = meta[key]
    return out


def _finite(x: float) -> float:
    return x if np.isfinite(x) else -np.inf


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _round(x: float) -> float | None:
    return round(float(x), 4) if np.isfinite(x) else None
