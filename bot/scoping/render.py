"""`scope_markdown(report)`: a compact human summary of a scope report, in markdown, for the CLI,
the console and Discord (which pages it to 2,000 characters itself).

Names and cells in the report are already display-safe; here they go into code spans. Lists are
capped (warnings, baselines, phases) so a 5,000-column file does not print 5,000 lines.
"""

from __future__ import annotations

from typing import Any

from bot.textsafe import code_span, cut, display_name

MAX_WARNINGS = 12
METRIC_LABEL = {"roc_auc": "ROC-AUC", "f1_macro": "macro F1", "r2": "R²", "pr_auc": "PR-AUC", "f1": "F1",
                "accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "rmse": "RMSE", "mae": "MAE",
                "roc_auc_ovr": "ROC-AUC (OvR)"}
PHASE_LABEL = {"discovery": "Discovery", "data_preparation": "Data preparation", "modelling": "Modelling",
               "evaluation": "Evaluation", "deployment_handover": "Deployment and handover"}


def leader_text(best: Any) -> str:
    """' best so far: hist_gbm ROC-AUC 0.991' (the first scores, shown while the rest run)."""
    if not isinstance(best, dict) or not isinstance(best.get("score"), (int, float)):
        return ""
    metric = METRIC_LABEL.get(str(best.get("metric")), str(best.get("metric") or "score"))
    return f" · best so far: {best.get('model')} {metric} {best['score']:.3f}"


def scope_markdown(report: dict[str, Any]) -> str:
    metric = report.get("metric") or ""
    label = METRIC_LABEL.get(metric, metric)
    lines: list[str] = []
    target = _safe(report.get("target"))
    lines.append(f"**Scope** of {code_span(_safe((report.get('file') or {}).get('name', 'file')))}: "
                 f"{report.get('rows', 0):,} rows × {report.get('columns', 0):,} columns; target {code_span(target)} "
                 f"({report.get('task')}, {label}).")
    cv = report.get("cv") or {}
    if cv.get("note"):
        lines.append(f"Validation: {cut(str(cv['note']), 300)}")
    sel = report.get("selection") or {}
    if sel.get("rows") and sel.get("of") and sel["rows"] < sel["of"]:
        lines.append(f"Selection: {sel.get('note')}.")
    best = report.get("best") or {}
    dummy = report.get("dummy")
    if best.get("score") is not None:
        base = f" vs dummy {dummy:.3f}" if isinstance(dummy, (int, float)) else ""
        checked = best.get("checked")
        if checked and checked.get("score") is not None:
            lines.append(f"**Best:** {code_span(_safe(best.get('model')))} {label} **{best['score']:.3f}** trained on "
                         f"{checked['train_rows']:,} rows and scored on {checked['test_rows']:,} held-out rows{base} "
                         f"(chosen on the sample: {best.get('selection_score', 0):.3f} in cross-validation).")
        else:
            spread = _std_of(report, best.get("model"), metric)
            lines.append(f"**Best:** {code_span(_safe(best.get('model')))} {label} **{best['score']:.3f}**{spread}{base}.")
    rows = report.get("baselines") or []
    if rows:
        lines.append("")
        lines.append(f"| model | {label} | seconds |")
        lines.append("|---|---|---|")
        for b in rows[:10]:
            s = (b.get("scores") or {}).get(metric) or {}
            mean = f"{s['mean']:.3f}" if s.get("mean") is not None else "-"
            std = f" ± {s['std']:.3f}" if s.get("std") is not None else ""
            lines.append(f"| {code_span(_safe(b.get('model')))} | {mean}{std} | {b.get('fit_seconds', 0):.1f} |")
    reading = report.get("learning_curve_reading")
    if reading:
        lines.append("")
        lines.append(f"**Learning curve:** {reading}")
    warns = report.get("warnings") or []
    if warns:
        lines.append("")
        lines.append(f"**Warnings ({len(warns)}):**")
        for w in warns[:MAX_WARNINGS]:
            lines.append(f"- {code_span(_safe(w.get('code')))} {cut(str(w.get('message', '')), 300)}")
        if len(warns) > MAX_WARNINGS:
            lines.append(f"- … and {len(warns) - MAX_WARNINGS} more (see --json).")
    est = report.get("estimate") or {}
    if est.get("phases"):
        lines.append("")
        lines.append(f"**Estimate:** {est['hours_low']:g}–{est['hours_high']:g} hours")
        for p in est["phases"]:
            drivers = "; ".join(str(d) for d in (p.get("drivers") or [])[:3])
            lines.append(f"- {PHASE_LABEL.get(p['name'], p['name'])}: {p['hours_low']:g}–{p['hours_high']:g} h"
                         + (f" ({cut(drivers, 160)})" if drivers else ""))
    q = report.get("quote")
    if q:
        per = "day" if q.get("unit") == "day" else "hour"
        lines.append(f"**Quote:** {q['currency']} {q['low']:,}–{q['high']:,} at {q['currency']} {q['rate']:,} per {per}.")
    if report.get("seconds") is not None:
        lines.append(f"_Scoped in {report['seconds']:.1f} s._")
    return "\n".join(lines)


def _std_of(report: dict[str, Any], model: Any, metric: str) -> str:
    for b in report.get("baselines") or []:
        if b.get("model") == model:
            s = (b.get("scores") or {}).get(metric) or {}
            if s.get("std") is not None:
                return f" ± {s['std']:.3f}"
    return ""


def _safe(text: Any) -> str:
    """Report values are display-safe already; this keeps a hand-made report safe too."""
    return display_name(text if text is not None else "")
