"""Project frames: what kind of project a table is, detected from its structure (or forced).

  recommender  two entity columns (users and items) whose pairs are mostly seen once, each entity seen
               several times, and a rating or interaction to predict (named, or the one rating-like column)
  forecasting  a numeric target over a regular time index: one row per time step, or per time step and
               series (the series key is the column, or pair of columns, that makes time steps unique)
  text         a free-text column (long or short) beside the target
  tabular      everything else; with positives under `rare_positive_share`, a rare-event project

Detection reads only counts and structure (kinds from the profile, cardinalities, uniqueness of
pairs, spacing of time steps), never column names. Its thresholds are `scope.frames` in config.yaml
(calibrated by evals/calibrate_frames.py). A forced frame relaxes the structural tests but still
needs its parts (a date for forecasting, two entity columns for a recommender, a text column for text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from bot.errors import InputError
from bot.scoping.common import Names, fmt_int, fmt_share
from bot.scoping.convert import Table, as_float, codes_of, is_categorical, is_datetime
from bot.scoping.profile import Profile

FRAMES = ("auto", "tabular", "forecasting", "text", "recommender")
ENTITY_KINDS = ("id", "categorical")
KEY_CANDIDATES = 12          # series-key and entity columns tested (the most promising by cardinality)

# Frequencies a time index can have: name, nominal step in days, tolerance (days), seasons (steps, in words)
FREQUENCIES = (
    ("hourly", 1 / 24, 0.1 / 24, ((24, "daily"), (168, "weekly"))),
    ("daily", 1.0, 0.05, ((7, "weekly"), (365, "yearly"))),
    ("weekly", 7.0, 0.5, ((52, "yearly"),)),
    ("monthly", 30.44, 3.5, ((12, "yearly"),)),
    ("quarterly", 91.3, 5.0, ((4, "yearly"),)),
    ("yearly", 365.25, 5.0, ()),
)


@dataclass
class TimeIndex:
    column: str                    # raw date column
    frequency: str                 # hourly | daily | weekly | monthly | quarterly | yearly | irregular
    step_days: float
    seasons: list[tuple[int, str]]  # (steps, name) the history allows
    steps: int                     # distinct time steps
    regular_share: float           # share of gaps between consecutive time steps that equal the frequency
    series: list[str] = field(default_factory=list)  # raw series-key columns (empty: one series)
    n_series: int = 1
    missing_steps: int = 0         # time steps absent between the first and the last (gaps in the index)


@dataclass
class Frame:
    kind: str                      # tabular | forecasting | text | recommender
    reason: str                    # a sentence for the report
    forced: bool = False
    time: TimeIndex | None = None  # forecasting
    text: list[str] = field(default_factory=list)       # raw text columns (text frame)
    user: str | None = None        # recommender entity columns (the one with more values first)
    item: str | None = None
    rating: str | None = None      # recommender: the rating column (when no target was named)
    time_column: str | None = None  # recommender: optional time of the interaction
    rare: bool = False             # binary with positives under rare_positive_share
    base_rate: float | None = None

    def to_json(self, names: Names) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "forced": self.forced}
        if self.time is not None:
            out.update(date=names.show(self.time.column), frequency=self.time.frequency,
                       steps=self.time.steps, series=[names.show(c) for c in self.time.series],
                       n_series=self.time.n_series, seasons=[s for s, _ in self.time.seasons])
        if self.text:
            out["text_columns"] = [names.show(c) for c in self.text]
        if self.user is not None:
            out.update(user=names.show(self.user), item=names.show(self.item or ""))
            if self.time_column:
                out["time"] = names.show(self.time_column)
        if self.base_rate is not None:
            out["base_rate"] = round(self.base_rate, 5)
        return out


# Column helpers ------------------------------------------------------------------------------------


def codes(frame: Table, col: str, rows: np.ndarray) -> np.ndarray:
    """Integer codes of a column's values on `rows` (-1 where missing)."""
    s = frame[col]
    if is_categorical(s):
        return codes_of(s)[rows].astype(np.int64)
    if is_datetime(s):
        v = s[rows].astype("datetime64[s]").astype(np.int64)
        out = pd.factorize(v)[0].astype(np.int64)
        out[np.isnat(s[rows])] = -1
        return out
    return pd.factorize(as_float(s)[rows], use_na_sentinel=True)[0].astype(np.int64)


def _pair_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a * (int(b.max()) + 2) + b


# Recommender ---------------------------------------------------------------------------------------


def _entity_candidates(frame: Table, profile: Profile, rows: np.ndarray, skip: set[str], limits: Any):
    n = len(rows)
    out = []
    for col, c in profile.columns.items():
        if col in skip or c.kind not in ENTITY_KINDS:
            continue
        if c.unique < limits.frames.min_entities or n / max(c.unique, 1) < limits.frames.min_per_entity:
            continue
        out.append((c.unique, col))
    out.sort(reverse=True)
    return [col for _, col in out[:KEY_CANDIDATES]]


def _integer_column(frame: Table, col: str) -> bool:
    s = frame[col]
    if is_categorical(s) or is_datetime(s):
        return False
    v = as_float(s)
    v = v[np.isfinite(v)]
    return bool(v.size) and bool(np.all(np.mod(v, 1) == 0))


def rating_like(frame: Table, profile: Profile, col: str, limits: Any) -> bool:
    """A number with a few levels (stars, scores, 0/1 interactions)."""
    c = profile.columns[col]
    if c.kind != "numeric" or not (2 <= c.unique <= limits.frames.rating_levels):
        return False
    v = as_float(frame[col])
    v = v[np.isfinite(v)]
    return bool(v.size) and bool(np.all(np.mod(v * 2, 1) == 0))


def find_recommender(frame: Table, profile: Profile, target: str | None, limits: Any,
                     forced: bool = False) -> tuple[str, str, str | None] | None:
    """(user, item, rating) when two entity columns form an interaction table; rating is None when a
    target was named (the target is the rating)."""
    rows = np.arange(frame.rows)
    skip = {target} if target else set()
    ratings: list[str] = []
    if target is None:
        ratings = [c for c in profile.columns if rating_like(frame, profile, c, limits)]
        if not ratings:
            return None
        skip |= set(ratings)
    entities = _entity_candidates(frame, profile, rows, skip, limits)
    best = None
    for a, b in combinations(entities, 2):
        ca, cb = codes(frame, a, rows), codes(frame, b, rows)
        ok = (ca >= 0) & (cb >= 0)
        if ok.sum() < 0.9 * len(rows):
            continue
        pairs = np.unique(_pair_codes(ca[ok], cb[ok])).size
        share = pairs / ok.sum()
        if share >= limits.frames.pair_unique or forced:
            score = (share, min(profile.columns[a].unique, profile.columns[b].unique))
            if best is None or score > best[0]:
                best = (score, a, b)
    if best is None:
        return None
    _, a, b = best
    user, item = (a, b) if profile.columns[a].unique >= profile.columns[b].unique else (b, a)
    rating = None
    if target is None:
        ratings.sort(key=lambda c: (profile.columns[c].unique, list(profile.columns).index(c)))
        rating = ratings[-1]
    return user, item, rating


# Forecasting ---------------------------------------------------------------------------------------


def _frequency(gaps_days: np.ndarray) -> tuple[str, float, float, tuple]:
    """The frequency whose step matches the median gap, and the share of gaps that match it."""
    if gaps_days.size == 0:
        return "irregular", 0.0, 0.0, ()
    median = float(np.median(gaps_days))
    for name, step, tol, seasons in FREQUENCIES:
        if abs(median - step) <= tol:
            share = float(np.mean(np.abs(gaps_days - step) <= tol))
            return name, step, share, seasons
    return "irregular", median, float(np.mean(np.isclose(gaps_days, median, rtol=0.01))), ()


def time_index(frame: Table, profile: Profile, target_rows: np.ndarray, date_col: str, limits: Any,
               forced: bool = False) -> TimeIndex | None:
    """The regular time index a date column gives the target's rows, with its series key, or None."""
    t = frame[date_col][target_rows].astype("datetime64[s]")
    ok = ~np.isnat(t)
    if ok.sum() < (0.5 if forced else 0.95) * len(t):
        return None
    t = t[ok]
    steps = np.unique(t)
    if len(steps) < (3 if forced else limits.frames.min_timestamps):
        return None
    gaps = np.diff(steps).astype(np.int64) / 86_400.0
    freq, step, regular, seasons = _frequency(gaps)
    if not forced and (freq == "irregular" or regular < limits.frames.regular_share):
        return None
    series: list[str] = []
    n_series = 1
    rows = target_rows[ok]
    if len(steps) < 0.98 * len(t):  # time steps repeat: look for the series key
        key = _series_key(frame, profile, rows, t, len(steps), date_col, limits, forced)
        if key is None:
            return None
        series, n_series = key
    allowed = [(m, name) for m, name in seasons if len(steps) >= 2 * m]
    missing = int(sum(round(g / step) - 1 for g in gaps if step > 0 and g > 1.5 * step)) if freq != "irregular" else 0
    return TimeIndex(date_col, freq, step, allowed, int(len(steps)), round(regular, 3), series, n_series, missing)


def _series_key(frame: Table, profile: Profile, rows: np.ndarray, t: np.ndarray, n_steps: int, date_col: str,
                limits: Any, forced: bool) -> tuple[list[str], int] | None:
    n = len(rows)
    tcode = pd.factorize(t.astype(np.int64))[0].astype(np.int64)
    cands = []
    for col, c in profile.columns.items():
        if col == date_col or c.kind not in ("categorical", "id", "numeric") or c.missing > 0.01 * n:
            continue
        if c.kind == "numeric" and not _integer_column(frame, col):
            continue
        if 2 <= c.unique <= n / 3:
            cands.append((c.unique, col))
    cands = [col for _, col in sorted(cands)[:KEY_CANDIDATES]]
    coded = {col: codes(frame, col, rows) for col in cands}
    options = [[c] for c in cands] + [list(p) for p in combinations(cands, 2)]
    for key in options:
        k = coded[key[0]] if len(key) == 1 else _pair_codes(coded[key[0]], coded[key[1]])
        k = np.where(k < 0, -1, pd.factorize(k)[0])
        if (k < 0).any():
            continue
        unique_rows = np.unique(_pair_codes(k, tcode)).size / n
        if unique_rows < 0.98:
            continue
        n_series = int(k.max()) + 1
        lengths = np.bincount(k)
        if forced or np.median(lengths) >= limits.frames.series_coverage * n_steps:
            return key, n_series
    return None


# Detection -----------------------------------------------------------------------------------------


def detect_frame(frame: Table, profile: Profile, names: Names, target: Any, requested: str, limits: Any,
                 recommender: tuple[str, str, str | None] | None = None) -> Frame:
    """The project frame for a chosen target (see the module docstring); `requested` forces one."""
    if requested not in FRAMES:
        raise InputError(f"unknown frame '{requested}'.", hint=f"Use one of: {', '.join(FRAMES)}.")
    forced = requested != "auto"
    if requested in ("auto", "recommender"):
        found = recommender or find_recommender(frame, profile, target.name, limits, forced=forced)
        if found is not None and (target.task != "multiclass" or _numeric(profile, target.name)):
            user, item, _ = found
            return Frame("recommender", _recommender_reason(names, profile, user, item, target.name, forced),
                         forced=forced, user=user, item=item, time_column=_interaction_time(profile, target.name))
        if forced:
            raise InputError("--frame recommender needs two entity columns (users and items) that repeat, beside a "
                             "rating or interaction to predict; none were found.",
                             hint="Check that the user and item columns are in the file, or use --frame auto.")
    if requested in ("auto", "forecasting"):
        if target.task == "regression" or (forced and _numeric(profile, target.name)):
            for col in profile.of_kind("datetime"):
                if col == target.name:
                    continue
                ti = time_index(frame, profile, target.rows, col, limits, forced=forced)
                if ti is not None:
                    return Frame("forecasting", _forecast_reason(names, ti, target.name, forced), forced=forced,
                                 time=ti)
        if forced:
            raise InputError("--frame forecasting needs a numeric target and a date column giving one row per time "
                             "step (or per time step and series); none was found.",
                             hint="Check the date column parses as dates, or use --frame auto.")
    text = [c for c in profile.of_kind("text") if c != target.name]
    if requested == "text" and not text:
        text = _text_like(profile, target.name)
        if not text:
            raise InputError("--frame text needs a column of free text (several words per value); none was found.",
                             hint="Use --frame auto.")
    rare, base = _rarity(target, limits)
    if text and requested in ("auto", "text"):
        return Frame("text", _text_reason(names, text, forced, rare, base), forced=forced, text=text, rare=rare,
                     base_rate=base)
    return Frame("tabular", _tabular_reason(forced, rare, base, limits), forced=forced, rare=rare, base_rate=base)


def _numeric(profile: Profile, col: str) -> bool:
    return profile.columns[col].kind == "numeric"


def _rarity(target: Any, limits: Any) -> tuple[bool, float | None]:
    if target.task != "binary" or target.positive is None:
        return False, None
    share = float(np.mean(target.y == target.positive))
    return share < limits.frames.rare_positive_share, share


def _interaction_time(profile: Profile, target: str) -> str | None:
    dates = [c for c in profile.of_kind("datetime") if c != target]
    return dates[0] if dates else None


def _text_like(profile: Profile, target: str) -> list[str]:
    """For a forced text frame: categorical columns with long, varied values."""
    out = []
    for col, c in profile.columns.items():
        if col == target or c.kind != "categorical" or not c.stats:
            continue
        if c.unique >= 20 and c.stats.get("mean_length", 0) >= 15:
            out.append(col)
    return out


def _recommender_reason(names: Names, profile: Profile, user: str, item: str, target: str, forced: bool) -> str:
    u, i = profile.columns[user], profile.columns[item]
    lead = "Forced with --frame recommender: " if forced else ""
    return (f"{lead}{names.code(target)} is a rating or interaction between {fmt_int(u.unique)} values of "
            f"{names.code(user)} and {fmt_int(i.unique)} values of {names.code(item)}, most pairs seen once: a "
            "user-item matrix, so the models learn per-user and per-item effects and folds hold out interactions.")


def _forecast_reason(names: Names, ti: TimeIndex, target: str, forced: bool) -> str:
    lead = "Forced with --frame forecasting: " if forced else ""
    series = (f" for each of {fmt_int(ti.n_series)} series ({names.many(ti.series)})" if ti.series else "")
    return (f"{lead}{names.code(target)} is measured {ti.frequency} over {fmt_int(ti.steps)} time steps of "
            f"{names.code(ti.column)}{series}: a forecasting problem, validated by backtests that train on the past "
            f"and forecast the next block of time.{_gaps(ti)}")


def _gaps(ti: TimeIndex) -> str:
    """A sentence on the time steps missing from the index, if any."""
    if not ti.missing_steps:
        return ""
    unit = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter",
            "yearly": "year"}.get(ti.frequency, "step")
    total = ti.steps + ti.missing_steps
    many = "s" if ti.missing_steps != 1 else ""
    return (f" {fmt_int(ti.missing_steps)} {unit}{many} of the {fmt_int(total)} between the first and last date "
            f"{'are' if many else 'is'} missing ({fmt_share(ti.missing_steps, total)}): the baselines treat them as "
            "unknown values, so ask whether they are zeros (no sales, closed) or data that was lost.")


def _text_reason(names: Names, text: list[str], forced: bool, rare: bool, base: float | None) -> str:
    lead = "Forced with --frame text: " if forced else ""
    rare_note = f" Positives are rare ({base:.2%}), so the headline is PR-AUC." if rare and base is not None else ""
    return (f"{lead}{names.many(text)} hold{'s' if len(text) == 1 else ''} free text: TF-IDF features of the "
            f"words and characters join the other columns in a linear model, beside the tabular baselines.{rare_note}")


def _tabular_reason(forced: bool, rare: bool, base: float | None, limits: Any) -> str:
    lead = "Forced with --frame tabular: " if forced else ""
    if rare and base is not None:
        return (f"{lead}one row per case with a binary target whose positives are rare ({base:.2%}, under "
                f"{limits.frames.rare_positive_share:.0%}): a rare-event project, headlined by PR-AUC (average precision) "
                "against the base rate.")
    return (f"{lead}one row per case, no time index, user-item structure or free text that would call for "
            "another frame: tabular baselines.")
