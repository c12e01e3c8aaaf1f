"""The model matrix and the validation splitter.

Features are the numeric, categorical and datetime columns that are not the target, not excluded
(ID-like, free text, constant, empty, leaked). Categories become integer codes (a lossless relabel,
no statistics, so nothing is learnt outside the folds; encoders inside the CV pipelines do the
rest); dates become a day count, month, day of week and hour. Infinite values are missing,
values beyond ±1e150 are capped. Matrices are built only for the rows a stage needs (samples).

Validation: time-ordered (TimeSeriesSplit) when a datetime column orders the rows; grouped when
an ID repeats (rows of one ID stay in one fold); else shuffled k-fold, stratified for
classification, random_state from config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    TimeSeriesSplit,
)

from bot.scoping.common import Names
from bot.scoping.convert import OVERFLOW_ABS, Table, as_float, codes_of, is_categorical, is_datetime
from bot.scoping.profile import Profile
from bot.scoping.target import Target

EXCLUDED_KINDS = ("id", "text", "constant", "empty")


@dataclass
class FeatureSet:
    columns: list[str]                 # raw source columns used
    names: list[str]                   # raw feature names (dates expand into parts)
    sources: list[str]                 # source column of each feature
    categorical: np.ndarray            # bool mask over features
    excluded: dict[str, str] = field(default_factory=dict)  # raw column -> reason

    @property
    def n(self) -> int:
        return len(self.names)


def select_features(profile: Profile, target: Target, leaks: list[str] | None = None,
                    group_col: str | None = None) -> FeatureSet:
    names: list[str] = []
    sources: list[str] = []
    cats: list[bool] = []
    used: list[str] = []
    excluded: dict[str, str] = {}
    leaks = set(leaks or ())
    for col, c in profile.columns.items():
        if col == target.name:
            continue
        if c.kind in EXCLUDED_KINDS:
            excluded[col] = c.kind
            continue
        if col in leaks:
            excluded[col] = "leakage"
            continue
        if col == group_col:
            excluded[col] = "group"
            continue
        used.append(col)
        if c.kind == "datetime":
            for part in ("days", "month", "weekday", "hour"):
                names.append(f"{col} ({part})")
                sources.append(col)
                cats.append(False)
        else:
            names.append(col)
            sources.append(col)
            cats.append(c.kind == "categorical")
    return FeatureSet(columns=used, names=names, sources=sources, categorical=np.array(cats, dtype=bool),
                      excluded=excluded)


def build_matrix(frame: Table, fs: FeatureSet, rows: np.ndarray) -> np.ndarray:
    """Rows `rows` (positions in the table) of the feature matrix, float64, NaN for missing."""
    X = np.empty((len(rows), fs.n), dtype=np.float64)
    j = 0
    for col in fs.columns:
        s = frame[col]
        if is_categorical(s):
            codes = codes_of(s)[rows].astype(np.float64)
            codes[codes < 0] = np.nan
            X[:, j] = codes
            j += 1
        elif is_datetime(s):
            arr = s[rows].astype("datetime64[s]")
            nat = np.isnat(arr)
            d = pd.DatetimeIndex(arr)
            X[:, j] = np.where(nat, np.nan, arr.astype(np.int64) / 86_400.0)
            X[:, j + 1] = np.where(nat, np.nan, d.month.to_numpy(dtype=np.float64, na_value=np.nan))
            X[:, j + 2] = np.where(nat, np.nan, d.weekday.to_numpy(dtype=np.float64, na_value=np.nan))
            X[:, j + 3] = np.where(nat, np.nan, d.hour.to_numpy(dtype=np.float64, na_value=np.nan))
            j += 4
        else:
            v = as_float(s)[rows]
            v = np.where(np.isfinite(v), v, np.nan)
            np.clip(v, -OVERFLOW_ABS, OVERFLOW_ABS, out=v)
            X[:, j] = v
            j += 1
    return X


@dataclass
class Validation:
    kind: str                      # stratified_kfold | kfold | time_series | group_kfold
    folds: int
    note: str
    column: str | None = None      # raw column that orders or groups the rows
    groups: np.ndarray | None = None  # group codes for the target's rows (group_kfold)

    def splitter(self, task: str, random_state: int, folds: int | None = None):
        k = folds or self.folds
        if self.kind == "time_series":
            return TimeSeriesSplit(n_splits=k)
        if self.kind == "group_kfold":
            if task != "regression":
                return StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
            return GroupKFold(n_splits=k, shuffle=True, random_state=random_state)
        if self.kind == "stratified_kfold":
            return StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
        return KFold(n_splits=k, shuffle=True, random_state=random_state)

    def to_json(self, names: Names) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "folds": self.folds, "note": self.note}
        if self.column is not None:
            out["column"] = names.show(self.column)
        return out


CV_CHOICES = ("auto", "kfold", "time", "group")


def choose_validation(frame: Table, profile: Profile, target: Target, names: Names, folds: int,
                      random_state: int, prefer: str = "auto") -> Validation:
    """Validation suited to the data: time-ordered when a datetime orders the rows, grouped when an ID
    repeats, else shuffled (stratified) k-fold. `prefer` forces a kind (kfold, time, group) when the data allows
    it; forcing shuffled folds on time-ordered data is stated in the note."""
    n = len(target.rows)
    ordered_by = None
    for col, c in profile.columns.items():
        if col == target.name or c.kind != "datetime" or not c.monotonic or c.unique < 10:
            continue
        ordered_by = col
        break
    if ordered_by is not None and prefer in ("auto", "time"):
        return Validation("time_series", folds,
                          f"time-ordered: {names.code(ordered_by)} orders the rows, so each fold trains on earlier rows "
                          "and tests on the next block (no shuffling, no peeking at the future).", column=ordered_by)
    if prefer == "time":
        return Validation("time_series", folds, "time-ordered as asked (file order): each fold trains on earlier "
                          "rows and tests on the next block.")
    for col, c in profile.columns.items():
        if prefer == "kfold":
            break
        if col == target.name or not c.group_id:
            continue
        s = frame[col]
        if is_categorical(s):
            codes = codes_of(s)[target.rows].astype(np.int64)
        else:
            codes = pd.factorize(as_float(s)[target.rows], use_na_sentinel=True)[0].astype(np.int64)
        missing = codes < 0
        if missing.any():  # each missing ID is its own group
            codes = codes.copy()
            codes[missing] = codes.max() + 1 + np.arange(int(missing.sum()))
        n_groups = int(np.unique(codes).size)
        if n_groups < folds * 2 or n_groups >= n:
            continue
        return Validation("group_kfold", folds,
                          f"grouped: {names.code(col)} repeats ({n_groups:,} IDs over {n:,} rows), so all rows of one ID "
                          "stay in the same fold; scores estimate performance on unseen IDs. Shuffled, "
                          f"random_state {random_state}.", column=col, groups=codes)
    caveat = ""
    if ordered_by is not None:
        caveat = (f" Shuffled although {names.code(ordered_by)} orders the rows (as asked): scores may be optimistic "
                  "for predicting the future.")
    if target.task == "regression":
        return Validation("kfold", folds, f"shuffled {folds}-fold, random_state {random_state}.{caveat}")
    return Validation("stratified_kfold", folds,
                      f"shuffled {folds}-fold, stratified by class, random_state {random_state}.{caveat}")


def sample_rows(n: int, size: int, y: np.ndarray, task: str, validation: Validation, random_state: int) -> np.ndarray:
    """Positions (into the target's rows) of a reproducible sample of `size` rows, in file order.

    Stratified for classification, whole groups for grouped validation, an ordered subset for time.
    """
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    if validation.kind == "group_kfold" and validation.groups is not None:
        _, inverse, counts = np.unique(validation.groups, return_inverse=True, return_counts=True)
        perm = rng.permutation(len(counts))
        k = int(np.searchsorted(np.cumsum(counts[perm]), size)) + 1
        return np.flatnonzero(np.isin(inverse, perm[:k]))
    if task != "regression":
        picks = []
        classes, counts = np.unique(y, return_counts=True)
        for cls, cnt in zip(classes, counts, strict=True):
            idx = np.flatnonzero(y == cls)
            take = max(min(cnt, validation.folds * 2), int(round(size * cnt / n)))
            picks.append(rng.choice(idx, size=min(take, cnt), replace=False))
        return np.sort(np.concatenate(picks))
    return np.sort(rng.choice(n, size=size, replace=False))
