"""Orchestration: a request in, the scope report (a JSON-ready dict) and its chart out.

`build_report` runs typed stages, each a function returning a dataclass the next stage reads:

  check_request  -> Options        the request's budget, frame and estimate block, checked before any work
  load           -> Loaded         bytes -> typed table (load, convert), row/column limits
  understand     -> Understanding  profile, target, frame, warnings, leakage, validation, features
  select         -> Selection      the frame's baselines under the budget (selection.py); the best, checked
  draw_curve     -> Curve          the best model's learning curve on the frame's validation, and its reading
  assemble       -> dict           the report; then add_estimate (hours, quote) and the chart

Report keys (the contract in issue 5, extended in issue 12):
  rows, columns            data rows and columns read from the file
  frame, frame_reason      tabular | forecasting | text | recommender, and why (detected, or forced with --frame)
  task, target, metric     metric: the frame's headline: roc_auc (binary) | pr_auc (rare positives) | f1_macro
                           (multiclass) | r2 (regression) | wape or mase (forecasting) | rmse (ratings)
  higher_is_better         false for errors (mae, rmse, wape, mase)
  cv                       {"kind": stratified_kfold|kfold|time_series|group_kfold|time_backtest|interaction_kfold,
                           "folds", "note", ...}
  baselines                [{"model", "scores": {METRIC: {"mean", "std"}}, "fit_seconds"}], complete CVs only;
                           fit_seconds is the wall time of the model's whole cross-validation
  best                     {"model", "score", "std"} on `metric`; when selection ran on a sample and the chosen
                           model was refitted on more rows, "score" is that held-out score, with "selection_score"
                           and "checked" beside it; "with_leaks": the score with leaking columns put back, marked
                           not credible, with the reason
  dummy, dummy_model       the frame's reference score on `metric` (dummy, last_value_naive or global_mean)
  warnings                 [{"code", "column", "message"}]
  learning_curve           [{"train_size", "score"}]
  estimate                 {"phases": [{"name", "hours_low", "hours_high", "drivers"}], "hours_low", "hours_high"}
  quote                    null, or {"currency", "unit", "rate", "low", "high", ...} with a rate
  seconds                  wall time of the job
Extras: file, profile, target_summary, features, selection, skipped_models, learning_curve_reading,
frame_details, frame_notes.
Every name and cell in the report is display-safe; the report holds counts and scores, never rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.errors import InputError
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
from bot.scoping.curve import reading
from bot.scoping.design import design_warnings
from bot.scoping.estimate import (
    EstimateConfig,
    check_rate,
    estimate,
    findings,
    quote,
    validate_estimate_block,
)
from bot.scoping.features import CV_CHOICES, FeatureSet, Validation, choose_validation, select_features
from bot.scoping.frames import FRAMES, Frame, detect_frame, find_recommender
from bot.scoping.layout import reshape
from bot.scoping.load import load_table
from bot.scoping.metrics import higher_is_better, lift
from bot.scoping.profile import Profile, profile_json, profile_table
from bot.scoping.selection import Selection, select_forecast, select_recommender, select_tabular
from bot.scoping.target import TASKS, Target, build_target, choose_target, target_summary
from bot.textsafe import display_name

Emit = Callable[[str, dict[str, Any]], None]
MAX_PER_CODE = 25
LEARNING_CURVE_SHARE = 0.15  # of the budget, at most
DUMMY_MODEL = {"tabular": "dummy", "text": "dummy", "forecasting": "last_value_naive", "recommender": "global_mean"}


# Stage results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What the request asks for, checked before the file is read."""

    budget: float
    estimate: EstimateConfig
    frame: str = "auto"


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
    """What the data is: its profile, the target, the frame, what to warn about, how to validate, what to use."""

    profile: Profile
    target: Target
    frame: Frame
    leaks: list[Leak]
    validation: Validation
    features: FeatureSet
    warnings: list[dict[str, Any]]


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
    found = understand(loaded, request, options, limits)
    selection = select(loaded, found, request, options, limits, emit)
    curve = draw_curve(selection, found, options, emit)
    report = assemble(request, loaded, found, selection, curve)
    emit("estimate", {})
    add_estimate(report, request, settings, loaded, found, selection, curve, options)
    png = _chart(report, loaded, found) if getattr(request, "chart", True) else None
    report["seconds"] = round(time.monotonic() - started, 2)
    return report, png


def check_request(request: Any, limits: Any) -> Options:
    if request.task not in TASKS:
        raise InputError(f"unknown task '{display_name(request.task)}'.", hint=f"Use one of: {', '.join(TASKS)}.")
    if request.cv not in CV_CHOICES:
        raise InputError(f"unknown validation '{display_name(request.cv)}'.", hint=f"Use one of: {', '.join(CV_CHOICES)}.")
    frame = getattr(request, "frame", "auto") or "auto"
    if frame not in FRAMES:
        raise InputError(f"unknown frame '{display_name(frame)}'.", hint=f"Use one of: {', '.join(FRAMES)}.")
    config = validate_estimate_block(request.estimate)
    if request.rate is not None:
        check_rate(request.rate, request.unit, request.currency)
    budget = float(request.budget if request.budget is not None else limits.budget_seconds)
    if not np.isfinite(budget) or budget <= 0:
        raise InputError("the budget must be a positive number of seconds.", hint="For example --budget 20.")
    return Options(budget=budget, estimate=config, frame=frame)


def load(request: Any, limits: Any, emit: Emit, on_loaded: Callable[[], None] | None) -> Loaded:
    emit("loading", {"file": display_name(request.filename)})
    raw = load_table(path=request.path, data=request.data, filename=request.filename, limits=limits)
    emit("profiling", {"rows": raw.rows, "columns": len(raw.names)})
    table = reshape(convert_table(raw, limits), request.target, limits)
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


def understand(loaded: Loaded, request: Any, options: Options, limits: Any) -> Understanding:
    frame, names = loaded.table.frame, loaded.names
    rs = limits.random_state
    profile = profile_table(loaded.table)
    recommender = None
    task = request.task
    if request.target is None and options.frame in ("auto", "recommender"):
        # No target named: a user-item table names its own (the rating), where other files get an error.
        recommender = find_recommender(frame, profile, None, limits, forced=options.frame == "recommender")
    if recommender is not None:
        target_name = recommender[2]
        if task == "auto" and profile.columns[target_name].unique > 2:
            task = "regression"
    else:
        # a wide sheet of periods names its own target: the values it was read into
        target_name = choose_target(frame, profile, names, request.target or loaded.table.meta.get("layout_target"))
    target = build_target(frame, profile, names, target_name, task, limits)
    if len(target.y) < limits.min_rows:
        raise InputError(f"only {fmt_int(len(target.y))} rows have a usable target value; need at least "
                         f"{limits.min_rows} rows (too few).", hint="Upload more labelled rows.")
    project = detect_frame(frame, profile, names, target, options.frame, limits, recommender=recommender)
    warns = (list(loaded.table.warnings) + profile_warnings(profile, names, target_name)
             + target_warnings(target, names, loaded.rows) + design_warnings(frame, profile, target, names, limits.frames))
    if project.text:  # text columns the frame models are not left out: drop the warning that says they are
        used = {names.show(c) for c in project.text}
        warns = [w for w in warns if not (w["code"] == "free_text" and w["column"] in used)]
    leaks = leak_scan(frame, profile, target, names, rs, limits.leakage)
    validation = choose_validation(frame, profile, target, names, limits.cv_folds, rs, prefer=request.cv,
                                   limits=limits.structure)
    # validation.leaks (leak_entity, leak_future) are what the folds guard against: warned about, no column dropped
    entity_leaks = validation.leaks
    if project.kind == "recommender":
        # The user and item columns are the recommender's inputs (its folds hold out interactions): they are
        # no identifier left out of the features, and a user seen in training is the point, not a leak.
        inputs = {names.show(c) for c in (project.user, project.item) if c}
        warns = [w for w in warns if not (w["code"] == "id_column" and w["column"] in inputs)]
        entity_leaks = [lk for lk in entity_leaks if not (lk.code == "leak_entity" and names.show(lk.column) in inputs)]
    warns += leak_warnings(leaks + entity_leaks, names) + validation.warnings
    group_col = validation.column if validation.groups is not None else None
    features = select_features(profile, target, [lk.column for lk in leaks], group_col=group_col)
    if features.n == 0 and project.kind == "tabular":
        warns.append(warning("no_features", None,
                             "no usable feature columns: every other column is an ID, free text, constant, empty or a "
                             "leakage suspect, so only the dummy baseline ran. Add columns that describe each row."))
    return Understanding(profile, target, project, leaks, validation, features, warns)


def select(loaded: Loaded, found: Understanding, request: Any, options: Options, limits: Any,
           emit: Emit) -> Selection:
    kind = found.frame.kind
    if kind == "forecasting":
        return select_forecast(loaded.table, loaded.names, found, options.budget, limits, emit, request.cv)
    if kind == "recommender":
        return select_recommender(loaded.table, loaded.names, found, options.budget, limits, emit)
    return select_tabular(loaded.table, loaded.names, found, options.budget, limits, emit)


def draw_curve(selection: Selection, found: Understanding, options: Options, emit: Emit) -> Curve:
    emit("learning_curve", {"model": selection.best.result.spec.name})
    points: list[dict[str, Any]] = []
    if selection.curve is not None:
        try:
            deadline = min(selection.plan.at(1.0), time.monotonic() + LEARNING_CURVE_SHARE * options.budget)
            points = selection.curve(deadline)
        except (ValueError, MemoryError):
            points = []
    selection.curve = None  # its matrices are not needed past this stage
    return Curve(points, reading(points, selection.metric))


def assemble(request: Any, loaded: Loaded, found: Understanding, selection: Selection, curve: Curve) -> dict[str, Any]:
    names, target, features, project = loaded.names, found.target, found.features, found.frame
    metric = selection.metric
    best = selection.best.to_json()
    best["std"] = _round(selection.best.result.std(metric))
    if "base_rate" in selection.facts:
        best["base_rate"] = selection.facts["base_rate"]
    report: dict[str, Any] = {
        "rows": loaded.rows,
        "columns": loaded.columns,
        "frame": project.kind,
        "frame_reason": project.reason,
        "task": selection.task,
        "target": names.show(target.name),
        "metric": metric,
        "higher_is_better": higher_is_better(metric),
        "cv": selection.validation,
        "baselines": [{"model": r.spec.name, "scores": r.summary(selection.metrics),
                       "fit_seconds": round(r.seconds, 2)} for r in selection.results],
        "best": best,
        "dummy": _round(selection.dummy.mean(metric)),
        "dummy_model": selection.dummy.spec.name,
        "warnings": [],
        "learning_curve": curve.points,
        "learning_curve_reading": curve.reading,
        "estimate": None,
        "quote": None,
        "seconds": None,
    }
    warns = list(found.warnings)
    judged = "roc_auc" if metric == "pr_auc" else metric  # near-perfect is judged on the task's usual score
    if not selection.best_is_dummy and project.kind in ("tabular", "text") and judged in ("roc_auc", "f1_macro", "r2"):
        too_good = too_good_warning(_finite(selection.best.result.mean(judged)), judged, target.task)
        if too_good:
            warns.append(too_good)
    warns += _skip_warnings(selection.skipped, selection.plan.budget)
    if selection.with_leaks is not None:
        leaky = selection.with_leaks()
        if leaky:
            report["best"]["with_leaks"] = leaky
    report["warnings"] = _cap_warnings(warns)
    n, n_sel = selection.of, selection.rows
    note = selection.facts.get("selection_note") or f"all {n:,} rows with a target value"
    if selection.best.checked:
        note += "; the best model was checked on more rows"
    report["selection"] = {"rows": int(n_sel), "of": int(n), "note": note}
    report["skipped_models"] = selection.skipped
    report["file"] = _file_json(request.filename, loaded.table.meta)
    report["profile"] = profile_json(found.profile, names)
    report["target_summary"] = target_summary(target, names)
    used_text = set(project.text)
    report["features"] = {"used": features.n + len(used_text), "columns": len(features.columns) + len(used_text),
                          "text": [names.show(c) for c in project.text],
                          "excluded": [{"column": names.show(c), "reason": why}
                                       for c, why in list(features.excluded.items())[:50] if c not in used_text]}
    report["frame_details"] = {**project.to_json(names), **{k: v for k, v in selection.facts.items()
                                                            if k != "selection_note"}}
    report["frame_notes"] = selection.notes
    if found.leaks:
        report["leakage"] = {"excluded": [names.show(lk.column) for lk in found.leaks],
                             "note": "scores are shown without these columns"}
    return report


def add_estimate(report: dict[str, Any], request: Any, settings: Any, loaded: Loaded, found: Understanding,
                 selection: Selection, curve: Curve, options: Options) -> None:
    """Hours by phase from the findings, and a quote range when the request has a rate."""
    metric = selection.metric
    best, dummy = selection.best.result, selection.dummy
    gain = lift(metric, _finite_or_none(best.mean(metric)), _finite_or_none(dummy.mean(metric)))
    facts = findings(report, lift=gain if not selection.best_is_dummy else 0.0, curve_rising=curve.rising,
                     leaks=len(found.leaks), kinds=_used_kinds(found), config=options.estimate,
                     used=_used_columns(found, loaded.names))
    report["estimate"] = estimate(facts, options.estimate)
    if gain is not None:
        report["estimate"]["lift_over_dummy"] = round(gain, 3)
    if request.rate is not None:
        hpd = options.estimate.hours_per_day or settings.estimate_defaults.hours_per_day
        report["quote"] = quote(report["estimate"], rate=float(request.rate), unit=request.unit,
                                currency=request.currency, hours_per_day=hpd)


def _used_columns(found: Understanding, names: Names) -> set[str]:
    """Display names of the columns the project works with: target, features, text and the frame's keys."""
    fr = found.frame
    raw = [found.target.name, *found.features.columns, *fr.text, fr.user, fr.item]
    if fr.time is not None:
        raw += [fr.time.column, *fr.time.series]
    return {names.show(c) for c in raw if c is not None}


def _used_kinds(found: Understanding) -> dict[str, int]:
    """Kinds of the columns the project works with: the features and the frame's text columns (never the
    columns the tool dropped: IDs, constants, leaks)."""
    kinds: dict[str, int] = {}
    for col in [*found.features.columns, *found.frame.text]:
        kind = found.profile.columns[col].kind
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


# Helpers -------------------------------------------------------------------------------------


def _skip_warnings(skipped: list[dict[str, Any]], budget: float) -> list[dict[str, Any]]:
    out = []
    for s in skipped:
        if s["model"] in ("random_forest", "hist_gradient_boosting", "gradient_boosting_lags",
                          "matrix_factorisation_als") and s["reason"] == "time budget":
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
