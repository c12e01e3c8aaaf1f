"""The model matrix and the validation splitter.

Features are the numeric, categorical and datetime columns that are not the target, not excluded
(ID-like, free text, constant, empty, leaked). Categories become integer codes (a lossless relabel,
no statistics, so nothing is learnt outside the folds; encoders inside the CV pipelines do the
rest); dates become a day count, month, day of week and hour. Infinite values are missing,
values beyond ±1e150 are capped. Matrices are built only for the rows a stage needs (samples).

Validation is `validation.py` (re-exported here); `sample_rows` draws the rows model selection
runs on, in a way that respects it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bot.scoping.convert import OVERFLOW_ABS, Table, as_float, codes_of, is_categorical, is_datetime
from bot.scoping.profile import Profile
from bot.scoping.target import Target
from bot.scoping.validation import CV_CHOICES, Validation, choose_validation

__all__ = ["CV_CHOICES", "FeatureSet", "Validation", "build_matrix", "choose_validation", "sample_rows",
           "select_features"]

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


def sample_rows(n: int, size: int, y: np.ndarray, task: str, validation: Validation, random_state: int) -> np.ndarray:
    """Positions (into the target's rows) of a reproducible sample of `size` rows, in file order.

    Stratified for classification, whole groups for grouped validation, an ordered subset for time.
    """
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    if validation.groups is not None:
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
