"""A quote built from a scope report: phases priced low and high, contingency, milestones, terms.

Money is computed in Decimal and rounded to cents once per figure; totals are the sums of the rounded
parts, so phase prices + contingency = totals exactly, and milestone amounts add up to the totals.
Milestone shares are fractions that sum to exactly 1 (as decimals). Assumptions and exclusions come from
the scope's warnings, success criteria from its metric, best model and dummy, and the IP option points to
the guides. The person's figures are returned, never logged.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from bot.errors import InputError
from bot.textsafe import display_cell

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
SHARE_STEP = Decimal("0.01")
SCOPE_HINT = "Use the output of `mlbot scope FILE --json` (or a stored scope id)."

PHASE_LABELS = {
    "discovery": "Discovery",
    "data_preparation": "Data preparation",
    "modelling": "Modelling",
    "evaluation": "Evaluation",
    "deployment_handover": "Deployment and handover",
}
# Milestones tie payment to verifiable deliverables, not to calendar dates.
MILESTONES = (
    ("Problem and data report", ("discovery", "data_preparation"),
     "the agreed problem statement, success metric and data-quality report"),
    ("Model and evaluation report", ("modelling", "evaluation"),
     "the trained model and its evaluation report against the success criteria"),
    ("Handover", ("deployment_handover",),
     "the deployed model or package, its documentation and a handover session"),
)
TASK_LABELS = {"binary": "binary classification", "multiclass": "multiclass classification",
               "regression": "regression"}
METRIC_LABELS = {
    "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "average_precision": "PR-AUC", "f1": "F1", "f1_macro": "F1 (macro)",
    "accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "r2": "R²", "rmse": "RMSE", "mae": "MAE",
    "wape": "WAPE", "mase": "MASE",
}
LOWER_IS_BETTER = {"rmse", "mae", "wape", "mase"}

IP_GUIDES = ["knowledge/ip/background-foreground-ip.md", "knowledge/ip/ml-assets-ownership.md"]
ML_ASSETS = ["application code", "trained model weights", "training pipeline", "training data and its processing",
             "evaluation framework and test sets", "inference configuration"]

_CLEANING = {"mixed_types", "numbers_as_text", "encoding_fallback", "delimiter_detected", "formula_cells",
             "malformed_rows", "preamble_skipped", "nul_bytes", "infinite_values", "numeric_overflow",
             "duplicate_columns", "unnamed_columns", "long_cells", "compressed_input"}
_TIME = {"datetime_present", "duplicate_timestamps", "unsorted_timestamps"}
# code -> (assumption, exclusion); {cols} is the display-safe list of columns the warnings name.
_WARNING_TERMS: dict[str, tuple[str, str | None]] = {
    "leakage": ("{cols} nearly predicts the target on its own (possible leakage): it is treated as unknown at "
                "prediction time and left out. If the client confirms it is known then, the success criteria and "
                "the estimate are revisited.", None),
    "id_column": ("{cols} is an identifier: not used as a feature (used to group validation folds where rows "
                  "repeat).", None),
    "constant_column": ("{cols} holds a single value and is dropped.", None),
    "high_missing": ("{cols} has many missing values, handled by imputation or by dropping the column.",
                     "Recovering missing values at source, or collecting new data."),
    "duplicate_rows": ("Duplicate rows are removed before modelling unless the client confirms they are real "
                       "repeats.", None),
    "class_imbalance": ("The target is imbalanced: success is measured with metrics suited to imbalance (PR-AUC, "
                        "F1, balanced accuracy), not accuracy alone.",
                        "Collecting or labelling more examples of the rare classes."),
    "rare_class": ("Some classes are rare: they are reported separately and may be merged with the client's "
                   "agreement.", "Collecting or labelling more examples of the rare classes."),
    "small_sample": ("The data set is small: scores carry wide uncertainty and are reported with their spread "
                     "across folds.", "Collecting more data."),
    "high_cardinality": ("{cols} has many distinct categories, encoded inside the model pipeline; no external "
                         "look-up tables.", None),
    "wide_data": ("There are many columns for the number of rows: feature selection or regularisation is part of "
                  "modelling.", None),
}


# Validation ---------------------------------------------------------------------------------------


def _decimal(name: str, value: Any, *, hint: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise InputError(f"{name} must be a number.", hint=hint)
    try:
        x = float(value)
    except ValueError:
        raise InputError(f"{name} must be a number.", hint=hint) from None
    if not math.isfinite(x):
        raise InputError(f"{name} must be a finite number.", hint=hint)
    return Decimal(str(value)) if not isinstance(value, float) else Decimal(repr(value))


def _phases(report: Any) -> list[dict[str, Any]]:
    if not isinstance(report, dict):
        raise InputError("the scope is not a report (expected a JSON object).", hint=SCOPE_HINT)
    estimate = report.get("estimate")
    phases = estimate.get("phases") if isinstance(estimate, dict) else None
    if not isinstance(phases, list) or not phases:
        raise InputError("the scope has no estimate phases to price.", hint=SCOPE_HINT)
    out = []
    for i, p in enumerate(phases):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"].strip():
            raise InputError(f"estimate phase {i + 1} has no name.", hint=SCOPE_HINT)
        name = p["name"].strip()
        shown = display_cell(name, 40)
        low = _decimal(f"hours_low of phase '{shown}'", p.get("hours_low"), hint=SCOPE_HINT)
        high = _decimal(f"hours_high of phase '{shown}'", p.get("hours_high"), hint=SCOPE_HINT)
        if low < 0 or high < low:
            raise InputError(f"phase '{shown}' needs 0 <= hours_low <= hours_high.", hint=SCOPE_HINT)
        out.append({"name": name, "hours_low": low, "hours_high": high, "drivers": p.get("drivers") or []})
    if sum(p["hours_high"] for p in out) <= 0:
        raise InputError("the scope's estimate has no hours to price.", hint=SCOPE_HINT)
    return out


def _terms(rate: Any, unit: Any, currency: Any, contingency: Any, deposit: Any, hours_per_day: Any):
    rate_d = _decimal("rate", rate, hint="Give your rate per unit, e.g. --rate 600 --unit day.")
    if rate_d <= 0:
        raise InputError("rate must be greater than 0.", hint="Give your rate per unit, e.g. --rate 600 --unit day.")
    unit = str(unit or "").strip().lower()
    if unit not in ("hour", "day"):
        raise InputError(f"unknown unit {ascii(unit)[:20]}.", hint="Known units: hour, day.")
    code = str(currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise InputError(f"currency {ascii(str(currency))[:20]} is not a 3-letter code.",
                         hint="Use an ISO code such as GBP, EUR or USD.")
    cont = _decimal("contingency", contingency, hint="Use a share, e.g. 0.15 for 15%.")
    if not 0 <= cont <= 1:
        raise InputError("contingency must be a share between 0 and 1 (0.15 means 15%).")
    dep = _decimal("deposit", deposit, hint="Use a share, e.g. 0.3 for 30%.")
    if not 0 <= dep < 1:
        raise InputError("deposit must be a share from 0 up to (not including) 1 (0.3 means 30%).")
    hpd = _decimal("hours per day", hours_per_day, hint="e.g. 7.5")
    if not 0 < hpd <= 24:
        raise InputError("hours per day must be greater than 0 and at most 24.")
    return rate_d, unit, code, cont, dep, hpd


# Building ------------------------------------------------------------------------------------------


def _f(x: Decimal) -> int | float:
    f = float(x)
    return int(f) if f.is_integer() else f


def _price_phases(phases, rate: Decimal, unit: str, hpd: Decimal) -> list[dict[str, Any]]:
    priced = []
    for p in phases:
        days_low = (p["hours_low"] / hpd).quantize(TENTH, rounding=ROUND_HALF_UP)
        days_high = (p["hours_high"] / hpd).quantize(TENTH, rounding=ROUND_HALF_UP)
        billed_low, billed_high = (days_low, days_high) if unit == "day" else (p["hours_low"], p["hours_high"])
        priced.append({
            "name": p["name"],
            "label": PHASE_LABELS.get(p["name"], display_cell(p["name"].replace("_", " ").capitalize(), 40)),
            "hours_low": p["hours_low"], "hours_high": p["hours_high"],
            "days_low": days_low, "days_high": days_high,
            "price_low": (billed_low * rate).quantize(CENT, rounding=ROUND_HALF_UP),
            "price_high": (billed_high * rate).quantize(CENT, rounding=ROUND_HALF_UP),
            "drivers": _drivers(p["drivers"]),
        })
    return priced


def _drivers(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for d in items:
        if isinstance(d, dict):
            d = d.get("message") or d.get("text") or d.get("driver") or d.get("code") or ""
        text = display_cell(d, 90) if d not in (None, "") else ""
        if text:
            out.append(text)
    return out


def _allocate(total: Decimal, weights: list[Decimal], step: Decimal) -> list[Decimal]:
    """Split `total` by `weights` in multiples of `step` (largest remainder); the parts sum to `total` exactly."""
    wsum = sum(weights)
    if wsum <= 0:
        return [Decimal(0)] * (len(weights) - 1) + [total]
    units = (total / step).to_integral_value(rounding=ROUND_FLOOR)
    exact = [total / step * w / wsum for w in weights]
    parts = [e.to_integral_value(rounding=ROUND_FLOOR) for e in exact]
    order = sorted(range(len(weights)), key=lambda i: (exact[i] - parts[i], weights[i]), reverse=True)
    for i in order[: int(units - sum(parts))]:
        parts[i] += 1
    out = [p * step for p in parts]
    leftover = total - sum(out)  # below one step (a deposit like 0.333): goes to the biggest part
    out[max(range(len(out)), key=lambda i: weights[i])] += leftover
    return out


def _milestones(priced, deposit: Decimal, total_low: Decimal, total_high: Decimal) -> list[dict[str, Any]]:
    groups: list[tuple[str, str, Decimal, list[str]]] = []  # name, deliverable, weight, phases it pays for
    known = {n for _, names, _ in MILESTONES for n in names}
    for name, names, deliverable in MILESTONES:
        weight = sum(((p["price_low"] + p["price_high"]) / 2 for p in priced if p["name"] in names), Decimal(0))
        if weight > 0:
            groups.append((name, deliverable, weight, [p["name"] for p in priced if p["name"] in names]))
    for p in priced:
        weight = (p["price_low"] + p["price_high"]) / 2
        if p["name"] not in known and weight > 0:
            groups.append((f"{p['label']} delivered", f"the {p['label'].lower()} deliverables listed in the "
                           "statement of work", weight, [p["name"]]))
    shares = _allocate(Decimal(1) - deposit, [w for _, _, w, _ in groups], SHARE_STEP)
    rows = []
    if deposit > 0:
        rows.append({"name": "Deposit", "deliverable": "signed agreement", "share": deposit,
                     "due": "on signing, before work starts", "phases": []})
    for (name, deliverable, _, phases), share in zip(groups, shares, strict=True):
        rows.append({"name": name, "deliverable": deliverable, "share": share,
                     "due": f"on delivery of {deliverable}", "phases": phases})
    for key, total in (("amount_low", total_low), ("amount_high", total_high)):
        amounts = [(total * r["share"]).quantize(CENT, rounding=ROUND_HALF_UP) for r in rows]
        amounts[-1] = total - sum(amounts[:-1])
        for r, a in zip(rows, amounts, strict=True):
            r[key] = a
    return rows


def _columns(warnings: list[dict[str, Any]]) -> str:
    cols = []
    for w in warnings:
        c = w.get("column")
        if c not in (None, "") and display_cell(c, 40) not in cols:
            cols.append(display_cell(c, 40))
    if not cols:
        return "Some columns"
    shown = ", ".join(f"'{c}'" for c in cols[:4])
    return shown + (f" and {len(cols) - 4} more" if len(cols) > 4 else "")


def _assumptions_exclusions(report: dict[str, Any], hpd: Decimal) -> tuple[list[str], list[str]]:
    warnings = [w for w in report.get("warnings") or [] if isinstance(w, dict) and w.get("code")]
    by_code: dict[str, list[dict[str, Any]]] = {}
    for w in warnings:
        by_code.setdefault(str(w["code"]), []).append(w)
    assumptions: list[str] = [
        "The client provides the data described in the scope and a person who knows it, and answers questions "
        "within an agreed response time.",
        "The estimate comes from a scoping run on the file provided; a materially different full data set is "
        "re-scoped before work goes on.",
        f"A day is {hpd:g} working hours. Prices exclude VAT or sales tax unless stated.",
    ]
    exclusions: list[str] = [
        "Anything not listed as a deliverable: changes to scope, deliverables, timeline or fee go through a written "
        "change order stating their time and cost, and start only once both parties sign it.",
        "Hosting, monitoring and retraining after handover (can be quoted separately, e.g. as a retainer).",
        "Data labelling or new data collection.",
    ]
    cleaning = sorted(c for c in by_code if c in _CLEANING)
    if cleaning:
        cols = _columns([w for c in cleaning for w in by_code[c]])
        where = "" if cols == "Some columns" else f"; {cols}"
        assumptions.append(f"The file needs cleaning ({', '.join(cleaning)}{where}): it is cleaned in data "
                           "preparation as delivered.")
        exclusions.append("Fixing the client's upstream export or source systems.")
    time_codes = sorted(c for c in by_code if c in _TIME)
    if time_codes:
        cols = _columns([w for c in time_codes for w in by_code[c]])
        assumptions.append(f"{cols} order the rows in time: validation is time-ordered (train on earlier data, "
                           "test on later data).")
    for code, items in by_code.items():
        if code in _CLEANING or code in _TIME:
            continue
        if code in _WARNING_TERMS:
            assumption, exclusion = _WARNING_TERMS[code]
            assumptions.append(assumption.format(cols=_columns(items)))
            if exclusion and exclusion not in exclusions:
                exclusions.append(exclusion)
        else:
            message = display_cell(items[0].get("message") or "", 160)
            assumptions.append(f"Scope warning '{display_cell(code, 40)}' ({_columns(items)}): {message} "
                               "It is handled in data preparation.")
    return assumptions, exclusions


def _score(value: Any, metric: str | None) -> float | None:
    if isinstance(value, dict):
        value = value.get("score", value.get("mean"))
        if isinstance(value, dict):
            value = value.get("mean")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _success_criteria(report: dict[str, Any]) -> list[str]:
    metric = report.get("metric") if isinstance(report.get("metric"), str) else None
    label = METRIC_LABELS.get(metric or "", display_cell(metric or "", 30))
    best = report.get("best") if isinstance(report.get("best"), dict) else {}
    best_score = _score(best, metric)
    dummy_score = _score(report.get("dummy"), metric)
    if dummy_score is None:  # fall back to the dummy row of the baselines
        for b in report.get("baselines") or []:
            if isinstance(b, dict) and "dummy" in str(b.get("model", "")).lower():
                dummy_score = _score((b.get("scores") or {}).get(metric), metric)
    out = []
    if metric:
        cv = report.get("cv")
        if isinstance(cv, dict):
            cv = cv.get("name") or cv.get("kind") or cv.get("method") or cv.get("description")
        how = f" with {display_cell(cv, 60)}" if isinstance(cv, str) and cv else ""
        lower = report.get("higher_is_better") is False or metric in LOWER_IS_BETTER
        direction = "lower is better" if lower else "higher is better"
        out.append(f"Headline metric: {label} ({direction}), measured{how} on data the model did not train on.")
    else:
        out.append("Headline metric: to agree with the client before work starts.")
    if best_score is not None and dummy_score is not None:
        model = display_cell(best.get("model") or "the best baseline", 40)
        out.append(f"Scoping baseline: {model} reached {best_score:.3f} {label} against {dummy_score:.3f} for a "
                   "dummy model; the final model is reported against both.")
    elif best_score is not None:
        out.append(f"Scoping baseline: {best_score:.3f} {label}; a dummy baseline is reported beside every score.")
    out.append("Target value: agreed with the client before modelling starts, specific, measurable, achievable, "
               "relevant and time-bound; the scoping baseline is a starting point, not a promise.")
    out.append("The evaluation report gives each score's mean and spread across folds, with the dummy baseline "
               "beside it.")
    return out


def _ip_option() -> dict[str, Any]:
    return {
        "recommended": "assignment_on_full_payment",
        "options": [
            {"name": "assignment_on_full_payment", "label": "Assignment on full payment",
             "text": "What the project creates (foreground IP) passes to the client by a written, signed assignment "
                     "once the full fee is paid. Background IP (tools, code, models and know-how owned before the "
                     "project) stays with the freelancer, licensed non-exclusively and royalty-free only as embedded "
                     "in the deliverables."},
            {"name": "licence_background_kept", "label": "Licence, background IP kept",
             "text": "The freelancer keeps ownership and grants the client a licence to use the deliverables on "
                     "agreed terms (scope, exclusivity, duration); background IP stays with the freelancer."},
        ],
        "assets": ML_ASSETS,
        "note": "Not legal advice; the governing law matters. In the UK and the US a freelancer usually keeps "
                "copyright unless a signed written assignment says otherwise, and paying for the work does not "
                "transfer it. In Germany copyright itself cannot be transferred: only rights of use are granted, "
                "and an undefined scope covers only the contract's purpose. Name each ML asset in the contract.",
        "guides": list(IP_GUIDES),
    }


def build_quote(report: dict[str, Any], *, rate: float, unit: str, currency: str, contingency: float,
                deposit: float, hours_per_day: float) -> dict[str, Any]:
    """The quote JSON of `mlbot quote --json`, with "markdown" (the document to attach)."""
    from bot.rates.render import quote_document

    phases = _phases(report)
    rate_d, unit, code, cont, dep, hpd = _terms(rate, unit, currency, contingency, deposit, hours_per_day)
    priced = _price_phases(phases, rate_d, unit, hpd)
    sub_low = sum((p["price_low"] for p in priced), Decimal(0))
    sub_high = sum((p["price_high"] for p in priced), Decimal(0))
    cont_low = (sub_low * cont).quantize(CENT, rounding=ROUND_HALF_UP)
    cont_high = (sub_high * cont).quantize(CENT, rounding=ROUND_HALF_UP)
    total_low, total_high = sub_low + cont_low, sub_high + cont_high
    milestones = _milestones(priced, dep, total_low, total_high)
    assumptions, exclusions = _assumptions_exclusions(report, hpd)
    target, task = report.get("target"), report.get("task")
    result: dict[str, Any] = {
        "currency": code,
        "unit": unit,
        "rate": _f(rate_d),
        "hours_per_day": _f(hpd),
        "phases": [{"name": p["name"], "label": p["label"], "hours_low": _f(p["hours_low"]),
                    "hours_high": _f(p["hours_high"]), "days_low": _f(p["days_low"]), "days_high": _f(p["days_high"]),
                    "price_low": _f(p["price_low"]), "price_high": _f(p["price_high"]), "drivers": p["drivers"]}
                   for p in priced],
        "subtotal_low": _f(sub_low),
        "subtotal_high": _f(sub_high),
        "contingency": {"share": _f(cont), "low": _f(cont_low), "high": _f(cont_high)},
        "total_low": _f(total_low),
        "total_high": _f(total_high),
        "milestones": [{"name": m["name"], "deliverable": m["deliverable"], "share": _f(m["share"]), "due": m["due"],
                        "amount_low": _f(m["amount_low"]), "amount_high": _f(m["amount_high"]),
                        "phases": m["phases"]} for m in milestones],
        "assumptions": assumptions,
        "exclusions": exclusions,
        "success_criteria": _success_criteria(report),
        "ip_option": _ip_option(),
        "scope": {"id": display_cell(report["id"], 40) if report.get("id") else None,
                  "task": TASK_LABELS.get(str(task), display_cell(task, 30)) if task else None,
                  "target": display_cell(target, 64) if target not in (None, "") else None},
        "prepared": date.today().isoformat(),
    }
    result["markdown"] = quote_document(result)
    log.info("quote built phases=%d", len(priced))
    return result
