"""Study-design cues: a table whose question is not (only) a plain prediction, told by warnings.

Frames (frames.py) read structure only; these cues read column names and values too, and change no
model, fold or frame: they say what an experienced freelancer would ask before quoting.
  - `censored_outcome`: a yes/no outcome beside a column that measures time on the books (tenure,
    duration, days active, follow-up; named so, never negative): rows without the event yet may still have it later, so the label
    is censored; a survival model, or a fixed-horizon label among rows watched long enough, is the
    honest frame, and the duration is no ordinary input;
  - `experiment_design`: a column of a few experiment arms (control beside treatment or variant arms, or
    a column named like an arm or variant holding A / B): the
    client's question is usually the arm's effect (an A/B analysis with a confidence interval, uplift
    by segment), which a predictive score does not answer;
  - `ordered_classes`: a multiclass target whose classes are ordered numbers (a 1-5 satisfaction score,
    "1 star" to "5 stars"): macro F1 treats a 4 read as 5 like a 1 read as 5, so an ordinal model or a
    regression scored by MAE fits better (`--task regression`).
  - `spatial_data`: latitude and longitude columns: nearby rows share what no column records (a
    neighbourhood), so shuffled folds test the model on neighbours of its training rows; for new areas,
    validate on spatial blocks, and quote the geo features (distances, areas) as work.
Thresholds: `scope.frames.experiment_arms` and `scope.frames.rating_levels` in config.yaml.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from bot.scoping.common import Names, show_cell, warning
from bot.scoping.convert import Table, as_float, is_categorical
from bot.scoping.profile import Profile
from bot.scoping.target import Target
from bot.scoping.text import ordinal_ranks

_WORDS = re.compile(r"[^a-z0-9]+")
DURATION = re.compile(
    r"^(tenure|duration|lifetime|survival|followup|follow up|time to|time on|time since start|length of stay|los|"
    r"account age|customer age days|age of account|days (active|on book|as customer|since (signup|start|joined))|"
    r"(weeks|months|years) (active|on book|as customer|since (signup|start|joined))|"
    r"(days|weeks|months|years) (to|until) \w+)\b|\b(tenure|duration|lifetime|followup|follow up)\b")
ARM_NAME = re.compile(r"\b(variant|arm|treatment|treated|experiment|ab group|ab test|test group|test cell|"
                      r"assignment|assigned group)\b")
CONTROL = frozenset({"control", "ctrl", "baseline", "holdout", "hold out", "placebo", "control group", "untreated",
                     "not treated"})
TREATED = frozenset({"treatment", "treated", "test", "variant", "treatment group", "test group", "new", "v1", "v2"})
LETTERS = frozenset({"a", "b", "c", "d", "group a", "group b", "group c", "variant a", "variant b", "variant c"})


LATITUDE = re.compile(r"^(lat|latitude|.* lat|.* latitude|lat .*|latitude .*)$")
LONGITUDE = re.compile(r"^(lon|lng|long|longitude|.* (lon|lng|long|longitude)|(lon|lng|longitude) .*)$")


def _coordinates(frame: Table, profile: Profile, target: Target) -> tuple[str, str] | None:
    """A latitude and a longitude column: named so, numeric, and in range."""
    found: dict[str, str] = {}
    for col, c in profile.columns.items():
        if col == target.name or c.kind != "numeric":
            continue
        words = _words(col)
        for axis, pattern, bound in (("lat", LATITUDE, 90.0), ("lon", LONGITUDE, 180.0)):
            if axis not in found and pattern.match(words):
                v = as_float(frame[col])
                v = v[np.isfinite(v)]
                if len(v) and np.abs(v).max() <= bound and np.unique(v).size > 10:
                    found[axis] = col
    return (found["lat"], found["lon"]) if len(found) == 2 else None


def _durations(a: Any) -> bool:
    """Values a time span can take: none negative (a standardised `tenure_z` is no duration)."""
    v = as_float(a)
    v = v[np.isfinite(v)]
    return bool(len(v)) and float(v.min()) >= 0


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _words(text: str) -> str:
    return _WORDS.sub(" ", str(text).lower()).strip()


def design_warnings(frame: Table, profile: Profile, target: Target, names: Names, limits: Any) -> list[dict[str, Any]]:
    out = []
    if target.task == "binary":
        for col, c in profile.columns.items():
            if col != target.name and c.kind == "numeric" and DURATION.search(_words(col)) and _durations(frame[col]):
                code = names.code(col)
                out.append(warning("censored_outcome", names.show(col),
                                   f"{code} is time on the books beside a yes/no outcome: rows without the event "
                                   "yet may have it later (censored, time-to-event data). Quote a survival model or "
                                   "a fixed-horizon label (the event within N months, among rows watched N months "
                                   f"or more); {code} is then the time axis, not an ordinary input."))
                break
    for col in profile.columns:
        a = frame[col]
        if col == target.name or not is_categorical(a) or not 2 <= len(a.categories) <= limits.experiment_arms:
            continue
        levels = {_words(v) for v in a.categories}
        # by the values: a control arm beside treated ones; by the name: arms of any spelling (A / B) too
        by_values = bool(levels & CONTROL) and levels <= CONTROL | TREATED | LETTERS and len(levels - CONTROL) > 0
        by_name = bool(ARM_NAME.search(_words(col))) and levels <= CONTROL | TREATED | LETTERS
        if by_values or by_name:
            shown = ", ".join(show_cell(v, 20) for v in list(a.categories)[:limits.experiment_arms])
            out.append(warning("experiment_design", names.show(col),
                               f"{names.code(col)} looks like experiment arms ({shown}): the question is usually the "
                               "arm's effect (an A/B analysis: the difference with a confidence interval, uplift by "
                               "segment), which a predictive score does not answer; check the randomisation first."))
            break
    coords = _coordinates(frame, profile, target)
    if coords is not None:
        lat, lon = (names.code(c) for c in coords)
        out.append(warning("spatial_data", names.show(coords[0]),
                           f"{lat} and {lon} place the rows on a map: nearby rows share what no column records (a "
                           "neighbourhood), so shuffled folds test the model on neighbours of its training rows. For "
                           "new areas, validate on spatial blocks (grid cells); geo features (distances, areas) are "
                           "work to quote."))
    ranks = ordinal_ranks(target.classes) if target.task == "multiclass" else None
    if ranks is not None and len(target.classes) <= limits.rating_levels:
        order = [v for _, v in sorted(zip(ranks, target.classes, strict=True))]
        numeric = all(_is_number(v) for v in target.classes)
        out.append(warning("ordered_classes", names.show(target.name),
                           f"{names.code(target.name)} has ordered classes ({show_cell(order[0], 20)} to "
                           f"{show_cell(order[-1], 20)}): macro F1 counts a near miss like a far one, so an "
                           "ordinal model or a regression scored by MAE may fit the question better"
                           + (" (run again with --task regression to see it)." if numeric else ".")))
    return out
