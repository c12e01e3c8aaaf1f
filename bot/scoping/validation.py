"""How the validation folds are cut, so that scores estimate what the model will meet.

The structure found in the data decides, or `--cv` forces a kind:
  - an entity that repeats (the profile's repeating IDs: a courier, a visitor, a patient, with any
    number of rows each) -> `group_kfold`: all rows of one entity in one fold, scores on unseen
    entities;
  - time that matters: a date/time column that orders the rows (in file order, or within each
    entity) and along which the target moves beyond chance (a trend, seasons, events no column
    records) -> `time_series`: folds cut on the time values, each trains on the past and tests on
    what follows;
  - both -> `grouped_time_series`: train on the past of some entities, test on the later rows of
    the others;
  - neither -> shuffled k-fold, stratified for classification. Sorted timestamps alone are no
    reason for a time split (a survey's submission times).
A forced kind the data cannot support is replaced by what can be done, said in the note and in a
`cv_not_honoured` warning. What the chosen folds guard against is reported as a finding with a
leak code (`leak_entity`, `leak_future`), so the score a careless split gives can be shown as not
credible. Thresholds: `scope.structure` in config.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

from bot.config import StructureChecks
from bot.scoping import alone
from bot.scoping.common import Names, fmt_int, fmt_share, warning
from bot.scoping.convert import Table, as_float, codes_of, is_categorical, is_datetime
from bot.scoping.leaks import Leak
from bot.scoping.profile import ORDERED_SHARE, Profile, row_hashes
from bot.scoping.target import Target

CV_CHOICES = ("auto", "kfold", "time", "group")
FINGERPRINT_SHARE = 0.95  # of an entity's rows sharing a value: the column describes the entity
TIME_BIN_ROWS = 200       # rows per time bin in the test of whether time matters (10 to 60 bins)


@dataclass
class Validation:
    kind: str                       # stratified_kfold | kfold | time_series | group_kfold | grouped_time_series
    folds: int
    note: str
    column: str | None = None       # raw column that groups (group kinds) or orders (time_series) the rows
    groups: np.ndarray | None = None  # group codes over the target's rows (group kinds)
    times: np.ndarray | None = None   # time values over the target's rows (time kinds)
    time_column: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)

    @property
    def ordered(self) -> bool:
        return self.times is not None

    def splitter(self, task: str, random_state: int, folds: int | None = None):
        """scikit-learn's splitter for the shuffled and grouped kinds (`split` handles every kind)."""
        k = folds or self.folds
        if self.kind == "group_kfold":
            if task != "regression":
                return StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
            return GroupKFold(n_splits=k, shuffle=True, random_state=random_state)
        if self.kind == "stratified_kfold":
            return StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
        return KFold(n_splits=k, shuffle=True, random_state=random_state)

    def split(self, X: np.ndarray, y: np.ndarray, positions: np.ndarray, task: str,
              random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Folds over the rows `positions` (into the target's rows) of X and y."""
        groups = self.groups[positions] if self.groups is not None else None
        if self.kind == "time_series":
            return time_splits(self.times[positions], self.folds)
        if self.kind == "grouped_time_series":
            return grouped_time_splits(self.times[positions], groups, self.folds, random_state)
        return list(self.splitter(task, random_state).split(X, y, groups))

    def to_json(self, names: Names) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "folds": self.folds, "note": self.note}
        if self.column is not None:
            out["column"] = names.show(self.column)
        if self.time_column is not None:
            out["time_column"] = names.show(self.time_column)
        return out


# Splits ------------------------------------------------------------------------------------------


def time_splits(t: np.ndarray, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds cut on time values: train up to a cut, test up to the next (ties never straddle)."""
    cuts = np.quantile(t, np.linspace(0, 1, folds + 2)[1:])
    order = np.argsort(t, kind="stable")
    out = []
    for i in range(folds):
        tr = order[t[order] <= cuts[i]]
        te = order[(t[order] > cuts[i]) & (t[order] <= cuts[i + 1])]
        if len(tr) and len(te):
            out.append((tr, te))
    if len(out) < 2:
        raise ValueError("too few distinct times for time-ordered folds")
    return out


def grouped_time_splits(t: np.ndarray, groups: np.ndarray, folds: int, random_state: int):
    """Fold i tests the rows after a time cut of one share of the entities, training on the other entities' rows
    up to that cut: unseen entities, and only the past."""
    uniq = np.unique(groups)
    rng = np.random.default_rng(random_state)
    fold_of = dict(zip(rng.permutation(uniq).tolist(), np.arange(len(uniq)) % folds, strict=True))
    g_fold = np.array([fold_of[g] for g in groups.tolist()])
    cuts = np.quantile(t, np.linspace(0, 1, folds + 2)[1:-1])
    order = np.argsort(t, kind="stable")
    out = []
    for i in range(folds):
        tr = order[(g_fold[order] != i) & (t[order] <= cuts[i])]
        te = order[(g_fold[order] == i) & (t[order] > cuts[i])]
        if len(tr) and len(te):
            out.append((tr, te))
    if len(out) < 2:
        raise ValueError("too few entities or times for grouped time-ordered folds")
    return out


# Choosing ----------------------------------------------------------------------------------------


@dataclass
class _Structure:
    entity: str | None = None
    groups: np.ndarray | None = None
    n_groups: int = 0
    time: str | None = None
    times: np.ndarray | None = None
    within: bool = False            # time order holds within each entity (not across the file)
    time_skill: float = 0.0
    time_z: float = 0.0
    time_matters: bool = False


def choose_validation(frame: Table, profile: Profile, target: Target, names: Names, folds: int,
                      random_state: int, prefer: str = "auto", limits: StructureChecks | None = None) -> Validation:
    """Validation suited to the data's entities and time (see the module doc); `prefer` forces a kind."""
    limits = limits or StructureChecks()
    s = find_structure(frame, profile, target, folds, random_state, limits)
    if prefer == "kfold":
        v = _shuffled(target, folds, random_state, "as asked (--cv kfold)")
        v.leaks = _entity_leak(s, frame, profile, target, names, shuffled=True) + _future_leak(s, target, names, True)
        return v
    if prefer == "time":
        return _forced_time(s, target, names, folds)
    if prefer == "group":
        if s.entity is None:
            v = _shuffled(target, folds, random_state, "")
            v.warnings.append(warning("cv_not_honoured", None,
                                      "--cv group: no column repeats per entity (an ID with several rows each), so "
                                      f"grouped folds were not possible; {v.note}"))
            return v
        v = _grouped(s, names, folds, random_state)
        v.leaks = _entity_leak(s, frame, profile, target, names, shuffled=False)
        return v
    if s.entity is not None and s.time_matters:
        v = Validation("grouped_time_series", folds,
                       f"grouped and time-ordered: {names.code(s.entity)} repeats ({fmt_int(s.n_groups)} IDs) and the "
                       f"target moves with {names.code(s.time)}, so each fold trains on the past of some IDs and tests "
                       "on the later rows of the others (unseen IDs, no peeking at the future).",
                       column=s.entity, groups=s.groups, times=s.times, time_column=s.time)
        v.leaks = (_entity_leak(s, frame, profile, target, names, shuffled=False)
                   + _future_leak(s, target, names, False))
        return v
    if s.entity is not None:
        v = _grouped(s, names, folds, random_state)
        v.leaks = _entity_leak(s, frame, profile, target, names, shuffled=False)
        return v
    if s.time_matters:
        v = _time(s, names, folds, "")
        v.leaks = _future_leak(s, target, names, False)
        return v
    why = ""
    if s.time is not None:
        why = (f" {names.code(s.time)} orders the rows, but the target shows no trend or season along it beyond "
               "chance, so time order is not needed.")
    copies = _copies(frame, profile, target, folds, limits)
    if copies is not None:
        return _grouped_copies(copies, profile, target, folds, random_state, why)
    return _shuffled(target, folds, random_state, "", why)


def _copies(frame: Table, profile: Profile, target: Target, folds: int, limits: StructureChecks) -> np.ndarray | None:
    """Group codes joining exact copies of a row, when copies are common enough to inflate a shuffled score
    (a row and its copy in different folds: the model is tested on a row it was trained on)."""
    if profile.rows == 0 or profile.duplicate_rows < limits.duplicate_share * profile.rows:
        return None
    codes = pd.factorize(row_hashes(frame)[target.rows])[0].astype(np.int64)
    distinct = int(codes.max()) + 1 if len(codes) else 0
    if distinct < folds * 2 or distinct == len(codes):
        return None
    if key_share(frame, target.rows[np.unique(codes, return_index=True)[1]], target.name) < limits.copy_key_share:
        return None  # rows this plain repeat by chance (a few categories, rounded numbers): no copies to keep apart
    return codes


def key_share(frame: Table, firsts: np.ndarray, skip: str | None = None) -> float:
    """Over the distinct rows (`firsts`: one row position each), the largest share of them that one column tells
    apart (its distinct values / the distinct rows). Near 1: some column (an amount to the cent, a timestamp)
    makes each record unique, so repeats of whole rows are copies of records; well below: the rows are plain
    enough (a few categories, rounded numbers) to repeat by chance."""
    if not len(firsts):
        return 0.0
    best = 0
    for col, a in frame.items():
        if col == skip:
            continue
        if is_categorical(a):
            v = codes_of(a)[firsts]
        elif is_datetime(a):
            v = a[firsts].view(np.int64)
        else:
            v = as_float(a)[firsts]
        best = max(best, int(pd.unique(v).size))
    return best / len(firsts)


def _grouped_copies(codes: np.ndarray, profile: Profile, target: Target, folds: int, rs: int, why: str) -> Validation:
    distinct = int(codes.max()) + 1
    note = (f"grouped by identical rows: {fmt_int(len(codes) - distinct)} of {fmt_int(len(codes))} rows are exact "
            f"copies of another ({fmt_share(len(codes) - distinct, len(codes))}), so all copies of a row stay in the "
            "same fold; scores estimate performance on records the model has not seen (shuffled folds would test "
            f"rows it was trained on). Shuffled, random_state {rs}.{why}")
    return Validation("group_kfold", folds, note, groups=codes)


def find_structure(frame: Table, profile: Profile, target: Target, folds: int, random_state: int,
                   limits: StructureChecks) -> _Structure:
    s = _Structure()
    n = len(target.rows)
    for col, c in profile.columns.items():
        if col == target.name or not c.group_id:
            continue
        codes = _group_codes(frame[col], target.rows)
        n_groups = int(np.unique(codes).size)
        if folds * 2 <= n_groups < n:
            s.entity, s.groups, s.n_groups = col, codes, n_groups
            break
    for col, c in profile.columns.items():
        if col == target.name or c.kind != "datetime" or c.unique < 10 or c.missing > 0.05 * c.rows:
            continue
        t = frame[col][target.rows].astype("datetime64[s]").astype(np.int64).astype(np.float64)
        t[np.isnat(frame[col][target.rows])] = np.nan
        if not np.isfinite(t).all():
            t = np.where(np.isfinite(t), t, np.nanmedian(t))
        if _in_order(t):
            s.time, s.times = col, t
            break
        if s.groups is not None and c.ordered_within == s.entity:
            s.time, s.times, s.within = col, t, True
            break
    if s.times is not None:
        bins = int(np.clip(n // TIME_BIN_ROWS, 10, 60))
        rng = np.random.default_rng(random_state)
        half = rng.permutation(n) % 2 == 0
        s.time_skill, s.time_z = alone.chance_z(alone.value_bins(s.times, bins), target.y, half, target.task,
                                                len(target.classes), target.positive, rng)
        s.time_matters = s.time_skill >= limits.time_skill and s.time_z >= limits.time_z
    return s


def _group_codes(a: Any, rows: np.ndarray) -> np.ndarray:
    if is_categorical(a):
        codes = codes_of(a)[rows].astype(np.int64)
    else:
        codes = pd.factorize(as_float(a)[rows], use_na_sentinel=True)[0].astype(np.int64)
    missing = codes < 0
    if missing.any():  # each missing ID is its own group
        codes = codes.copy()
        codes[missing] = codes.max() + 1 + np.arange(int(missing.sum()))
    return codes


def _in_order(t: np.ndarray) -> bool:
    return len(t) > 1 and float(np.mean(np.diff(t) >= 0)) >= ORDERED_SHARE


def _shuffled(target: Target, folds: int, rs: int, asked: str, why: str = "") -> Validation:
    how = f" {asked}" if asked else ""
    if target.task == "regression":
        return Validation("kfold", folds, f"shuffled {folds}-fold{how}, random_state {rs}.{why}")
    return Validation("stratified_kfold", folds, f"shuffled {folds}-fold{how}, stratified by class, random_state {rs}.{why}")


def _grouped(s: _Structure, names: Names, folds: int, rs: int) -> Validation:
    return Validation("group_kfold", folds,
                      f"grouped: {names.code(s.entity)} repeats ({fmt_int(s.n_groups)} IDs over "
                      f"{fmt_int(len(s.groups))} rows), so all rows of one ID stay in the same fold; scores estimate "
                      f"performance on unseen IDs. Shuffled, random_state {rs}.", column=s.entity, groups=s.groups)


def _time(s: _Structure, names: Names, folds: int, asked: str) -> Validation:
    order = "within each " + names.code(s.entity) if s.within else "the rows"
    return Validation("time_series", folds,
                      f"time-ordered{asked}: {names.code(s.time)} orders {order} and the target moves with it, so "
                      "folds are cut on its values: each trains on the past and tests on what follows (no peeking at "
                      "the future).", column=s.time, times=s.times, time_column=s.time)


def _forced_time(s: _Structure, target: Target, names: Names, folds: int) -> Validation:
    if s.time is not None:
        v = _time(s, names, folds, " as asked (--cv time)")
        if not s.time_matters:
            v.note = (f"time-ordered as asked (--cv time): folds are cut on {names.code(s.time)}, each training on "
                      "the past and testing on what follows (the target shows no trend along it beyond chance).")
        return v
    n = len(target.rows)
    v = Validation("time_series", folds, "time-ordered as asked (--cv time), in the file's row order: no date or "
                   "time column orders the rows.", times=np.arange(n, dtype=np.float64))
    v.warnings.append(warning("cv_not_honoured", None,
                              "--cv time: no date or time column orders the rows, so the time-ordered folds follow the "
                              "file's row order (each trains on earlier rows and tests on the next block); check the "
                              "file is sorted by time, or scores mean little."))
    return v


# Findings ----------------------------------------------------------------------------------------


def _entity_leak(s: _Structure, frame: Table, profile: Profile, target: Target, names: Names,
                 shuffled: bool) -> list[Leak]:
    if s.entity is None:
        return []
    per = len(s.groups) / max(s.n_groups, 1)
    prints = fingerprints(frame, profile, target, s.entity, s.groups)
    one = len(prints) == 1
    also = (f"; {names.many(prints, 3)} {'describes' if one else 'describe'} the ID (the same value on all its rows), "
            f"so {'it gives' if one else 'they give'} it away too") if prints else ""
    done = ("Shuffled folds were used as asked: the scores are not credible for new IDs." if shuffled else
            f"Folds are grouped by {names.code(s.entity)}.")
    reason = (f"rows of one {names.code(s.entity)} ({fmt_int(s.n_groups)} IDs, about {per:.0f} rows each) would sit "
              "in both training and validation folds if rows were shuffled: the model would recognise the ID and "
              f"score better than on a new one{also}. {done}")
    return [Leak(s.entity, float("nan"), f"{fmt_int(s.n_groups)} IDs over {fmt_int(len(s.groups))} rows", "leak_entity",
                 reason, {"ids": s.n_groups, "rows_per_id": round(per, 1),
                          "fingerprints": [names.show(c) for c in prints[:5]]})]


def _future_leak(s: _Structure, target: Target, names: Names, shuffled: bool) -> list[Leak]:
    if not s.time_matters:
        return []
    done = ("Shuffled folds were used as asked: the scores are not credible for predicting later rows." if shuffled
            else "Folds run forward in time.")
    reason = (f"the target moves with {names.code(s.time)} (a trend, seasons or events no column records: the time "
              f"alone scores {s.time_skill:.2f} of the way from chance to perfect), so folds that mix time would "
              f"train on rows later than the ones they test. {done}")
    return [Leak(s.time, float("nan"), f"time alone: skill {s.time_skill:.2f}", "leak_future", reason,
                 {"time_skill": round(s.time_skill, 3), "chance_z": round(s.time_z, 1)})]


def fingerprints(frame: Table, profile: Profile, target: Target, entity: str, groups: np.ndarray) -> list[str]:
    """Feature columns that are (almost) constant within each entity and vary across entities."""
    out = []
    multi = np.bincount(groups)[groups] > 1
    if multi.sum() < 10:
        return out
    g = groups[multi]
    for col, c in profile.columns.items():
        if col in (entity, target.name) or c.kind not in ("numeric", "categorical", "datetime"):
            continue
        codes = alone.column_codes(frame[col], target.rows[multi], bins=256)
        width = int(codes.max()) + 1
        pairs, counts = np.unique(g * width + codes, return_counts=True)
        mode = np.zeros(int(g.max()) + 1, dtype=np.int64)
        np.maximum.at(mode, pairs // width, counts)
        if mode.sum() >= FINGERPRINT_SHARE * len(g) and np.unique(codes).size > 1:
            out.append(col)
    return out
