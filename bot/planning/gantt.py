"""The plan as a Gantt-style PNG: one bar per phase from its first to its last working day, the buffer
hatched at the end, a diamond at each review milestone, weekends shaded.

Figure API on an Agg canvas (no pyplot state); no rc_context either, so two plans drawn at once in
threads do not touch each other's settings. Labels are the plan's display-safe names, with `$` escaped
so matplotlib draws them literally. About 1000 x (300 + 40 per phase) px.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from bot.textsafe import cut

PHASE_COLOR = "#4c6ef5"
BUFFER_COLOR = "#f59f00"
REVIEW_COLOR = "#2b8a3e"
WEEKEND_COLOR = "#f1f3f5"


def _text(s: str, n: int = 34) -> str:
    return cut(str(s), n).replace("$", r"\$")


def plan_chart(plan: dict[str, Any]) -> bytes:
    """PNG bytes of the plan JSON (`build_plan`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import MO, DateFormatter, WeekdayLocator, date2num
    from matplotlib.figure import Figure

    rows = [(p["label"], date.fromisoformat(p["start"]), date.fromisoformat(p["end"]), PHASE_COLOR, None)
            for p in plan["phases"]]
    if plan["buffer"]["days"]:
        b = plan["buffer"]
        rows.append((f"Buffer ({b['days']} d)", date.fromisoformat(b["start"]), date.fromisoformat(b["end"]),
                     BUFFER_COLOR, "//"))
    first, last = date.fromisoformat(plan["start"]), date.fromisoformat(plan["end"])
    fig = Figure(figsize=(10, 3 + 0.4 * len(rows)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.24, 0.18, 0.72, 0.68))
    if (last - first).days <= 26 * 7:  # beyond half a year the shading is noise (and hundreds of patches)
        _weekends(ax, first - timedelta(days=1), last + timedelta(days=1), date2num)
    for i, (_, start, end, color, hatch) in enumerate(rows):
        left = date2num(start)
        ax.barh(i, date2num(end + timedelta(days=1)) - left, left=left, height=0.55, color=color,
                hatch=hatch, edgecolor="white" if hatch is None else "#7a5200")
    reviews = [m for m in plan["milestones"] if m["kind"] == "review"]
    index = {p["name"]: i for i, p in enumerate(plan["phases"])}
    for m in reviews:
        x = date2num(date.fromisoformat(m["date"]) + timedelta(days=1))
        ax.plot([x], [index[m["phase"]]], marker="D", color=REVIEW_COLOR, markersize=7, zorder=3)
    ax.set_yticks(range(len(rows)), [_text(r[0]) for r in rows], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(date2num(first - timedelta(days=1)), date2num(last + timedelta(days=2)))
    weeks = max(1, round((last - first).days / 7 / 12))  # at most about a dozen ticks: text is the slow part
    ax.xaxis.set_major_locator(WeekdayLocator(byweekday=MO, interval=weeks))
    ax.xaxis.set_major_formatter(DateFormatter("%a %d %b" if weeks == 1 else "%d %b %Y"))
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#dee2e6", linewidth=0.6)
    ax.set_axisbelow(True)
    title = f"Project plan: {plan['working_days']} working days, {first:%d %b %Y} to {last:%d %b %Y}"
    fig.suptitle(title, fontsize=12, y=0.97)
    fig.text(0.24, 0.02, "Bars: working days of each phase · diamonds: review milestones · grey: weekends",
             fontsize=8, color="#495057")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def _weekends(ax, first: date, last: date, date2num) -> None:
    day = first
    while day <= last:
        if day.weekday() == 5:
            ax.axvspan(date2num(day), date2num(day + timedelta(days=2)), color=WEEKEND_COLOR, zorder=0)
        day += timedelta(days=1)
