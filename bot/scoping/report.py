"""Orchestration: a request in, the scope report (a JSON-ready dict) and its chart out.

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
from typing import Any

import numpy as np

from bot.errors import InputError
from bot.scoping import baselines as bl
from bot.scoping.checks import (
    leak_scan,
    leak_warnings,
    profile_warnings,
    target_warnings,
    too_good_warning,
)
from bot.scoping.common import fmt_int, warning
from bot.scoping.convert import convert_table
from bot.scoping.curve import learning_curve, reading
from bot.scoping.estimate import estimate, findings, lift_over_dummy, quote, validate_estimate_block
from bot.scoping.features import (
    CV_CHOICES,
    Validation,
    build_matrix,
    choose_validation,
    sample_rows,
    select_features,
)
from bot.scoping.load import load_table
from bot.scoping.profile import profile_json, profile_table
from bot.scoping.target import TASKS, build_target, choose_target, target_summary
from bot.textsafe import display_name

Emit = Callable[[str, dict[str, Any]], None]
MAX_PER_CODE = 25
CHECK_MAX_ROWS = 200_000
LEARNING_CURVE_SHARE = 0.15  # of the budget, at most


def build_report(request: Any, settings: Any, emit: Emit | None = None,
                 on_loaded: Callable[[], None] | None = None) -> tuple[dict[str, Any], bytes | None]:
    """Run a scope in this process; `on_loaded` is called once the file is parsed and typed."""
    started = time.monotonic()
    emit = emit or (lambda stage, info: None)
    limits = settings.scope
    rs = limits.random_state
    if request.task not in TASKS:
        raise InputError(f"unknown task '{display_name(request.task)}'.", hint=f"Use one of: {', '.join(TASKS)}.")
    if request.cv not in CV_CHOICES:
        raise InputError(f"unknown validation '{display_name(request.cv)}'.", hint=f"Use one of: {', '.join(CV_CHOICES)}.")
    config = validate_estimate_block(request.estimate)
    if request.rate is not None:
        from bot.scoping.estimate import check_rate

        check_rate(request.rate, request.unit, request.currency)
    budget = float(request.budget if request.budget is not None else limits.budget_seconds)
    if not np.isfinite(budget) or budget <= 0:
        raise InputError("the budget must be a positive number of seconds.", hint="For example --budget 20.")

    emit("loading", {"file": display_name(request.filename)})
    raw = load_table(path=request.path, data=request.data, filename=request.filename, limits=limits)
    emit("profiling", {"rows": raw.rows, "columns": len(raw.names)})
    table = convert_table(raw, limits)
    del raw
    if on_loaded is not None:
        on_loaded()
    frame, names = table.frame, table.display
    n_rows, n_cols = frame.shape
    if n_rows < limits.min_rows:
        raise InputError(f"the file has {fmt_int(n_rows)} row{'s' if n_rows != 1 else ''} of data; need at least "
                         f"{limits.min_rows} rows to fit baselines (too few).", hint="Upload more rows.")
    if n_cols < 2:
        raise InputError("the file has only one column: there is nothing to predict it from (check the delimiter).",
                         hint="Upload a table with the target and at least one feature column.")
    profile = profile_table(table)
    target_name = choose_target(frame, profile, names, request.target)
    target = build_target(frame, profile, names, target_name, request.task, limits)
    if len(target.y) < limits.min_rows:
        raise InputError(f"only {fmt_int(len(target.y))} rows have a usable target value; need at least "
                         f"{limits.min_rows} rows (too few).", hint="Upload more labelled rows.")
    warns = list(table.warnings) + profile_warnings(profile, names, target_name) + target_warnings(target, names, n_rows)
    leaks = leak_scan(frame, profile, target, names, rs)
    warns += leak_warnings(leaks, names)
    validation = choose_validation(frame, profile, target, names, limits.cv_folds, rs, prefer=request.cv)
    group_col = validation.column if validation.kind == "group_kfold" else None
    features = select_features(profile, target, [lk.column for lk in leaks], group_col=group_col)
    if features.n == 0:
        warns.append(warning("no_features", None,
                             "no usable feature columns: every other column is an ID, free text, constant, empty or a "
                             "leakage suspect, so only the dummy baseline ran. Add columns that describe each row."))

    # Model selection on a stated sample --------------------------------------------------------
    n = len(target.y)
    sel = sample_rows(n, limits.selection_sample_rows, target.y, target.task, validation, rs)
    X = build_matrix(frame, features, target.rows[sel])
    y = target.y[sel]
    validation, splits = _splits(validation, X, y, target.task, sel, rs, names)
    plan = bl.Plan(started=time.monotonic(), budget=budget)
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
    best = max(models, key=lambda r: _finite(r.mean(target.metric))) if models else dummy
    headline = target.metric
    best_json: dict[str, Any] = {"model": best.spec.name, "score": _round(best.mean(headline))}
    if len(sel) < n and best is not dummy:
        checked = _check_on_more(best, frame, features, target, validation, plan, n, len(sel), rs)
        if checked:
            # The headline is what the chosen model reaches trained on more of the data; the sample's
            # cross-validated score (used to choose it) stays beside it.
            best_json["checked"] = checked
            best_json["selection_score"] = best_json["score"]
            best_json["score"] = checked["score"]

    # Learning curve -------------------------------------------------------------------------
    emit("learning_curve", {"model": best.spec.name})
    curve: list[dict[str, Any]] = []
    if best is not dummy:
        try:
            deadline = min(plan.at(1.0), time.monotonic() + LEARNING_CURVE_SHARE * budget)
            curve = learning_curve(best, X, y, splits, target.task, features.categorical, len(target.classes),
                                   target.positive, rs, deadline, ordered=validation.kind == "time_series")
        except (ValueError, MemoryError):
            curve = []
    curve_text = reading(curve, metric)
    del X

    report: dict[str, Any] = {
        "rows": int(n_rows),
        "columns": int(n_cols),
        "task": target.task,
        "target": names.show(target_name),
        "metric": metric,
        "cv": validation.to_json(names),
        "baselines": [{"model": r.spec.name, "scores": r.summary(target.task), "fit_seconds": round(r.seconds, 2)}
                      for r in results],
        "best": best_json,
        "dummy": _round(dummy.mean(headline)),
        "warnings": [],
        "learning_curve": curve,
        "learning_curve_reading": curve_text,
        "estimate": None,
        "quote": None,
        "seconds": None,
    }
    too_good = too_good_warning(_finite(best.mean(headline)), metric, target.task) if best is not dummy else None
    if too_good:
        warns.append(too_good)
    for s in skipped:
        if s["model"] in ("random_forest", "hist_gradient_boosting") and s["reason"] == "time budget":
            warns.append(warning("time_budget", None,
                                 f"the {s['model'].replace('_', ' ')} baseline was skipped to stay inside the "
                                 f"{budget:g} s budget; run again with a larger --budget to include it."))
        elif s["reason"].startswith("scored on"):
            warns.append(warning("time_budget", None,
                                 f"the {s['model'].replace('_', ' ')} baseline was {s['reason']} of {budget:g} s; "
                                 "run again with a larger --budget for all folds."))
    report["warnings"] = _cap_warnings(warns)
    report["cv"]["sample_rows"] = int(len(sel))
    report["selection"] = {"rows": int(len(sel)), "of": int(n),
                           "note": (f"model selection on a random sample of {len(sel):,} of {n:,} rows"
                                    + ("; the best model was checked on more rows" if "checked" in best_json else ""))
                           if len(sel) < n else f"all {n:,} rows with a target value"}
    report["skipped_models"] = skipped
    report["file"] = _file_json(request.filename, table.meta)
    report["profile"] = profile_json(profile, names)
    report["target_summary"] = target_summary(target, names)
    report["features"] = {"used": features.n, "columns": len(features.columns),
                          "excluded": [{"column": names.show(c), "reason": why}
                                       for c, why in list(features.excluded.items())[:50]]}
    if leaks:
        report["leakage"] = {"excluded": [names.show(lk.column) for lk in leaks],
                             "note": "scores are shown without these columns"}

    emit("estimate", {})
    lift = lift_over_dummy(metric, _finite_or_none(best.mean(headline)), _finite_or_none(dummy.mean(headline)))
    rising = curve_text.startswith("Still rising")
    facts = findings(report, lift=lift if best is not dummy else 0.0, curve_rising=rising, leaks=len(leaks),
                     kinds=report["profile"]["kinds"], config=config)
    report["estimate"] = estimate(facts, config)
    if lift is not None:
        report["estimate"]["lift_over_dummy"] = round(lift, 3)
    if request.rate is not None:
        hpd = config.hours_per_day or settings.estimate_defaults.hours_per_day
        report["quote"] = quote(report["estimate"], rate=float(request.rate), unit=request.unit,
                                currency=request.currency, hours_per_day=hpd)
    missing = [(names.show(c.name), c.missing_share) for c in profile.columns.values()]
    png = _chart(report, missing) if getattr(request, "chart", True) else None
    report["seconds"] = round(time.monotonic() - started, 2)
    return report, png


def _splits(validation: Validation, X: np.ndarray, y: np.ndarray, task: str, sel: np.ndarray, rs: int, names):
    groups = validation.groups[sel] if validation.groups is not None else None
    try:
        splits = list(validation.splitter(task, rs).split(X, y, groups))
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
    groups = validation.groups[pos] if validation.groups is not None else None
    try:
        splits = list(validation.splitter(target.task, rs).split(X, y, groups))
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


def _chart(report: dict[str, Any], missing: list) -> bytes | None:
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
