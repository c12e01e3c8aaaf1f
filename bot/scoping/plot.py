"""The scope chart (PNG): the headline (the same sentence as the text report), baseline scores against
the frame's reference with error bars on an axis within the metric's range, the learning curve on the
frame's validation up to the whole training size, missingness per column, and the top warnings.

Built with the Figure API and an Agg canvas (no pyplot global state), inside an rc_context with
math text off, so column names such as `cost_$_usd_$` are drawn literally. Names are already
display-safe (the report's), cut shorter for the axis. 1000 x 750 px: readable in Discord's
preview.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

from bot.scoping.metrics import higher_is_better
from bot.scoping.render import METRIC_LABEL, fmt_score, headline_text
from bot.textsafe import cut

RC = {"text.parse_math": False, "text.usetex": False, "font.size": 10, "axes.titlesize": 11,
      "figure.dpi": 100, "savefig.dpi": 100}
LABEL_CHARS = 28
TOP_WARNINGS = 3
BOUNDED = ("roc_auc", "pr_auc", "f1", "f1_macro", "accuracy", "balanced_accuracy", "roc_auc_ovr")


def scope_chart(report: dict[str, Any], missing: list[tuple[str, float]]) -> bytes:
    """PNG bytes for `report` (the JSON dict) and (display name, missing share) pairs."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = Figure(figsize=(10, 7.5))
        FigureCanvasAgg(fig)
        # fixed rectangles (no layout engine: it costs a third of the render time)
        _baselines(fig.add_axes((0.24, 0.55, 0.70, 0.31)), report)
        _curve(fig.add_axes((0.11, 0.17, 0.34, 0.27)), report)
        _missing(fig.add_axes((0.66, 0.17, 0.31, 0.27)), missing)
        target = report.get("target") or ""
        frame = report.get("frame")
        fig.suptitle(cut(f"Scope: {report.get('rows', 0):,} rows × {report.get('columns', 0):,} columns; predicting "
                         f"{target} ({report.get('task', '')}" + (f", {frame}" if frame else "") + ")", 110),
                     fontsize=12, y=0.975)
        fig.text(0.5, 0.925, cut(chart_headline(report), 130), ha="center", va="center", fontsize=10.5,
                 fontweight="bold")
        _warnings(fig, report)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def chart_headline(report: dict[str, Any]) -> str:
    """The text report's headline sentence without its markdown."""
    if (report.get("best") or {}).get("score") is None:
        return "No model finished inside the budget."
    return headline_text(report).replace("**", "").replace("`", "")


def _warnings(fig, report: dict[str, Any]) -> None:
    warns = [w for w in report.get("warnings") or [] if isinstance(w, dict)][:TOP_WARNINGS]
    if not warns:
        fig.text(0.02, 0.05, "No warnings.", fontsize=9, color="#495057")
        return
    total = len(report.get("warnings") or [])
    lines = [f"Top warnings ({len(warns)} of {total}):"]
    lines += ["• " + cut(f"{w.get('code')}: " + str(w.get("message", "")).replace("`", ""), 150) for w in warns]
    fig.text(0.02, 0.015, "\n".join(lines), fontsize=8.5, va="bottom", color="#862e9c")


def axis_range(metric: str, values: list[float], errs: list[float]) -> tuple[float, float]:
    """An x range inside what the metric can take: [0, 1] for probabilities and F1, [-1, 1]-ish for R², from 0
    for errors (which have no upper bound)."""
    lo = min(v - e for v, e in zip(values, errs, strict=True))
    hi = max(v + e for v, e in zip(values, errs, strict=True))
    if metric in BOUNDED:
        return max(0.0, min(lo - 0.05, 0.5 if metric != "pr_auc" else 0.0)), 1.0
    if metric == "r2":
        return max(-1.0, min(lo - 0.1, 0.0)), 1.0
    return 0.0, max(hi * 1.1, 1e-9)


def _baselines(ax, report: dict[str, Any]) -> None:
    metric = report.get("metric") or ""
    rows = [(b["model"], (b["scores"].get(metric) or {}).get("mean"), (b["scores"].get(metric) or {}).get("std"))
            for b in report.get("baselines", [])]
    rows = [(m, s, e or 0.0) for m, s, e in rows if s is not None][:10]
    if not rows:
        ax.text(0.5, 0.5, "no baseline finished", ha="center", va="center")
        ax.set_axis_off()
        return
    names = [cut(m, LABEL_CHARS) for m, _, _ in rows]
    scores = [s for _, s, _ in rows]
    errs = [e for _, _, e in rows]
    best = (report.get("best") or {}).get("model")
    ref = report.get("dummy_model") or "dummy"
    colors = ["#2b8a3e" if m == best else ("#adb5bd" if m == ref else "#4c6ef5") for m, _, _ in rows]
    y = list(range(len(rows)))
    ax.barh(y, scores, xerr=errs, color=colors, capsize=3)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    dummy = report.get("dummy")
    if isinstance(dummy, (int, float)):
        ref = report.get("dummy_model") or "dummy"
        ax.axvline(dummy, color="#e03131", linestyle="--", linewidth=1, label=f"{ref} {fmt_score(metric, dummy)}")
        ax.legend(loc="lower right", fontsize=9)
    lo, hi = axis_range(metric, scores, errs)
    ax.set_xlim(lo, hi)
    cv = report.get("cv") or {}
    direction = "higher is better" if higher_is_better(metric) else "lower is better"
    ax.set_title(f"Baselines: {METRIC_LABEL.get(metric, metric)} ({direction}), mean ± std over "
                 f"{cv.get('folds', '?')} folds ({cv.get('kind', '')})")
    for yi, s, e in zip(y, scores, errs, strict=True):
        ax.text(min(max(s, lo) + e, hi), yi, f"  {fmt_score(metric, s)}", va="center", fontsize=9, clip_on=True)


def _curve(ax, report: dict[str, Any]) -> None:
    pts = report.get("learning_curve") or []
    cv = report.get("cv") or {}
    ax.set_title(f"Learning curve (best model, {cv.get('kind', 'cv')})")
    if len(pts) < 2:
        ax.text(0.5, 0.5, "not enough time or data", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    scores = [p["score"] for p in pts]
    ax.plot([p["train_size"] for p in pts], scores, marker="o", color="#2b8a3e")
    metric = report.get("metric") or ""
    mid, span = (max(scores) + min(scores)) / 2, max(scores) - min(scores)
    flat = 0.02 if metric in BOUNDED or metric == "r2" else 0.02 * max(abs(mid), 1e-9)
    if span < flat:  # a flat curve should look flat, not like noise blown up to full height
        ax.set_ylim(mid - flat, mid + flat)
    if metric in BOUNDED:
        low, high = ax.get_ylim()
        ax.set_ylim(max(low, 0.0), min(high, 1.0))
    elif metric in ("mae", "rmse", "wape", "mase"):
        ax.set_ylim(bottom=max(ax.get_ylim()[0], 0.0))
    ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    thousands = max(p["train_size"] for p in pts) >= 10_000
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if thousands else f"{v:g}"))
    ax.set_xlabel("training rows")
    ax.set_ylabel(METRIC_LABEL.get(metric, metric or "score"))
    ax.grid(alpha=0.3)


def _missing(ax, missing: list[tuple[str, float]]) -> None:
    top = sorted(missing, key=lambda t: -t[1])[:12]
    ax.set_title("Missing values per column (top 12)")
    if not top or top[0][1] == 0:
        ax.text(0.5, 0.5, "no missing values", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    names = [cut(n, LABEL_CHARS) for n, _ in top]
    y = list(range(len(top)))
    ax.barh(y, [s * 100 for _, s in top], color="#f08c00")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% missing")
