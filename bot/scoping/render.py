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
                "roc_auc_ovr": "ROC-AUC (OvR)", "wape": "WAPE", "mase": "MASE"}
# Scores shown beside the headline, per headline metric (the best model's means)
BESIDE = {"wape": ("mae", "mase", "r2"), "mase": ("mae", "wape", "r2"), "rmse": ("mae", "r2"),
          "pr_auc": ("roc_auc",)}

PHASE_LABEL = {"discovery": "Discovery", "data_preparation": "Data preparation", "modelling": "Modelling",
               "evaluation": "Evaluation", "deployment_handover": "Deployment and handover",
               "forecast_design": "Forecast design", "text_preparation": "Text preparation",
               "interaction_data": "Interaction data", "ranking_evaluation": "Ranking evaluation"}


def leader_text(best: Any) -> str:
    """' best so far: hist_gbm ROC-AUC 0.991' (the first scores, shown while the rest run)."""
    if not isinstance(best, dict) or not isinstance(best.get("score"), (int, float)):
        return ""
    name = str(best.get("metric"))
    metric = METRIC_LABEL.get(name, str(best.get("metric") or "score"))
    return f" · best so far: {best.get('model')} {metric} {fmt_score(name, best['score'])}"


def fmt_score(metric: str, value: Any) -> str:
    """A score as people read it: WAPE as a percentage, errors in the target's units with separators."""
    if not isinstance(value, (int, float)):
        return "-"
    if metric == "wape":
        return f"{value:.1%}"
    if metric in ("mae", "rmse") and abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3f}"


def scope_markdown(report: dict[str, Any]) -> str:
    metric = report.get("metric") or ""
    label = METRIC_LABEL.get(metric, metric)
    lines: list[str] = []
    target = _safe(report.get("target"))
    frame = report.get("frame")
    lines.append(f"**Scope** of {code_span(_safe((report.get('file') or {}).get('name', 'file')))}: "
                 f"{report.get('rows', 0):,} rows × {report.get('columns', 0):,} columns; target {code_span(target)} "
                 f"({report.get('task')}, {label}" + (f", {_safe(frame)} project" if frame else "") + ").")
    if report.get("frame_reason"):
        lines.append(f"Frame: {cut(str(report['frame_reason']), 400)}")
    cv = report.get("cv") or {}
    if cv.get("note"):
        lines.append(f"Validation: {cut(str(cv['note']), 300)}")
    sel = report.get("selection") or {}
    if sel.get("rows") and sel.get("of") and sel["rows"] < sel["of"]:
        lines.append(f"Selection: {sel.get('note')}.")
    best = report.get("best") or {}
    if best.get("score") is not None:
        lines.append(headline_text(report))
        leaky = best.get("with_leaks")
        if isinstance(leaky, dict) and leaky.get("score") is not None:
            cols = ", ".join(code_span(_safe(c)) for c in (leaky.get("columns") or [])[:5])
            lines.append(f"With {cols} put back: {label} {fmt_score(metric, leaky['score'])}, "
                         f"{cut(str(leaky.get('reason') or 'not credible'), 400)}")
    rows = report.get("baselines") or []
    if rows:
        lines.append("")
        lines.append(f"| model | {label} | seconds |")
        lines.append("|---|---|---|")
        for b in rows[:10]:
            s = (b.get("scores") or {}).get(metric) or {}
            mean = fmt_score(metric, s.get("mean"))
            std = f" ± {fmt_score(metric, s['std'])}" if s.get("std") is not None else ""
            lines.append(f"| {code_span(_safe(b.get('model')))} | {mean}{std} | {b.get('fit_seconds', 0):.1f} |")
    notes = report.get("frame_notes") or []
    if notes:
        lines.append("")
        lines.append("**Beyond these baselines:**")
        for note in notes[:5]:
            lines.append(f"- {cut(str(note), 300)}")
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
            lines.append(f"- {PHASE_LABEL.get(p['name'], _safe(p['name']))}: {p['hours_low']:g}–{p['hours_high']:g} h"
                         + (f" ({cut(drivers, 160)})" if drivers else ""))
        for note in (est.get("range_notes") or [])[:2]:
            lines.append(f"- Range: {cut(str(note), 240)}")
    q = report.get("quote")
    if q:
        per = "day" if q.get("unit") == "day" else "hour"
        lines.append(f"**Quote:** {q['currency']} {q['low']:,}–{q['high']:,} at {q['currency']} {q['rate']:,} per {per}.")
    if report.get("seconds") is not None:
        lines.append(f"_Scoped in {report['seconds']:.1f} s._")
    return "\n".join(lines)


def headline_text(report: dict[str, Any]) -> str:
    """The one headline sentence (the chart's title says the same): best model, score, spread, reference."""
    metric = report.get("metric") or ""
    label = METRIC_LABEL.get(metric, metric)
    best = report.get("best") or {}
    dummy = report.get("dummy")
    ref = _safe(report.get("dummy_model") or "dummy")
    base = f" vs {ref} {fmt_score(metric, dummy)}" if isinstance(dummy, (int, float)) else ""
    if isinstance(best.get("base_rate"), (int, float)):
        base += f" (base rate {best['base_rate']:.2%})"
    model = code_span(_safe(best.get("model")))
    checked = best.get("checked")
    if checked and checked.get("score") is not None:
        return (f"**Best:** {model} {label} **{fmt_score(metric, best['score'])}** trained on "
                f"{checked['train_rows']:,} rows and scored on {checked['test_rows']:,} held-out rows{base} "
                f"(chosen on the sample: {fmt_score(metric, best.get('selection_score'))} in cross-validation).")
    spread = _std_of(report, best.get("model"), metric)
    beside = _beside(report, best.get("model"), metric)
    return f"**Best:** {model} {label} **{fmt_score(metric, best['score'])}**{spread}{beside}{base}."


def _entry(report: dict[str, Any], model: Any) -> dict[str, Any]:
    for b in report.get("baselines") or []:
        if b.get("model") == model:
            return b.get("scores") or {}
    return {}


def _std_of(report: dict[str, Any], model: Any, metric: str) -> str:
    s = _entry(report, model).get(metric) or {}
    return f" ± {fmt_score(metric, s['std'])}" if s.get("std") is not None else ""


def _beside(report: dict[str, Any], model: Any, metric: str) -> str:
    scores = _entry(report, model)
    parts = [f"{METRIC_LABEL.get(m, m)} {fmt_score(m, (scores.get(m) or {}).get('mean'))}"
             for m in BESIDE.get(metric, ()) if (scores.get(m) or {}).get("mean") is not None]
    return f" ({', '.join(parts)})" if parts else ""


def _safe(text: Any) -> str:
    """Report values are display-safe already; this keeps a hand-made report safe too."""
    return display_name(text if text is not None else "")
