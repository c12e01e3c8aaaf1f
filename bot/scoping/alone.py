"""How well one column alone predicts the target on held-out rows: the yardstick of the leak and
structure checks.

A column becomes integer codes: categories as they are, numbers and dates in quantile bins, and
a missing value as a code of its own (so missingness that encodes the target is seen, however
much of the column is missing). Per-code target means (class shares) learnt on one half of the
rows predict the other half, both ways round. Skill is 0 for no better than the base rate and 1
for perfect: 2·AUC − 1 (binary), balanced accuracy rescaled by chance (multiclass), R² floored at
0 (regression). `chance_z` sets a skill against the same computation on permuted targets, so a
many-valued column is not mistaken for a signal. `purity` finds codes whose held-out rows are
(almost) all of one class, and the share of that class they cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from bot.scoping.convert import as_float, codes_of, is_categorical, is_datetime

BINS = 32
MAX_PURE_BASE_RATE = 0.5   # purity is looked for in the rarer classes only


@dataclass
class Pure:
    """Codes pure for one class on held-out rows: the class, the share of its rows they hold, their purity."""

    cls: int
    coverage: float
    purity: float
    codes: list[int]


def column_codes(a: Any, rows: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Integer codes (0..k) of a column's rows; missing values share one code, the last."""
    if is_categorical(a):
        codes = codes_of(a)[rows].astype(np.int64)
        top = int(codes.max()) + 1 if len(codes) else 0
        return np.where(codes < 0, top, codes)
    if is_datetime(a):
        d = a[rows].astype("datetime64[s]")
        values = d.astype(np.int64).astype(np.float64)
        values[np.isnat(d)] = np.nan
    else:
        values = as_float(a)[rows]
    return value_bins(values, bins)


def value_bins(values: np.ndarray, bins: int = BINS) -> np.ndarray:
    ok = np.isfinite(values)
    codes = np.full(len(values), 0, dtype=np.int64)
    if ok.any():
        edges = np.unique(np.quantile(values[ok], np.linspace(0, 1, bins + 1)[1:-1]))
        codes[ok] = np.searchsorted(edges, values[ok], side="right")
        codes[~ok] = len(edges) + 1
    return codes


def mode_codes(codes: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    """0 where a row holds the column's most common value, 1 elsewhere, 2 where missing."""
    missing = np.zeros(len(codes), dtype=bool) if missing is None else missing.astype(bool)
    present = codes[~missing]
    if not present.size:
        return np.full(len(codes), 2, dtype=np.int64)
    mode = np.bincount(present).argmax()
    return np.where(missing, 2, np.where(codes == mode, 0, 1)).astype(np.int64)


def missing_codes(a: Any, rows: np.ndarray) -> np.ndarray | None:
    """1 where the value is missing, 0 where present (None when nothing, or everything, is missing)."""
    if is_categorical(a):
        miss = codes_of(a)[rows] < 0
    elif is_datetime(a):
        miss = np.isnat(a[rows])
    else:
        miss = ~np.isfinite(as_float(a)[rows])
    if not miss.any() or miss.all():
        return None
    return miss.astype(np.int64)


def held_out_predictions(codes: np.ndarray, y: np.ndarray, half: np.ndarray, task: str, n_classes: int,
                         positive: int | None) -> np.ndarray:
    """Per-code means (binary, regression) or majority classes (multiclass) from the other half."""
    size = int(codes.max()) + 1 if len(codes) else 1
    target = (y == _pos(positive)).astype(float) if task == "binary" else y.astype(float)
    pred = np.full(len(y), np.nan) if task != "multiclass" else np.zeros(len(y), dtype=np.int64)
    for train in (half, ~half):
        test = ~train
        if task == "multiclass":
            table = np.zeros((size, n_classes))
            np.add.at(table, (codes[train], y[train].astype(np.int64)), 1)
            fallback = int(np.bincount(y[train].astype(np.int64), minlength=n_classes).argmax())
            majority = np.where(table.sum(axis=1) > 0, table.argmax(axis=1), fallback)
            pred[test] = majority[codes[test]]
        else:
            sums = np.bincount(codes[train], weights=target[train], minlength=size)
            counts = np.bincount(codes[train], minlength=size)
            prior = float(target[train].mean()) if train.any() else 0.0
            pred[test] = np.where(counts > 0, sums / np.maximum(counts, 1), prior)[codes[test]]
    return pred


def skill(codes: np.ndarray, y: np.ndarray, half: np.ndarray, task: str, n_classes: int,
          positive: int | None) -> float:
    pred = held_out_predictions(codes, y, half, task, n_classes, positive)
    return skill_of(pred, y, task, n_classes, positive)


def skill_of(pred: np.ndarray, y: np.ndarray, task: str, n_classes: int, positive: int | None) -> float:
    if task == "binary":
        auc = auc_of(y == _pos(positive), pred)
        return max(0.0, 2 * auc - 1)
    if task == "multiclass":
        recalls = [np.mean(pred[y == k] == k) for k in range(n_classes) if (y == k).any()]
        chance = 1 / max(len(recalls), 1)
        return max(0.0, (float(np.mean(recalls)) - chance) / (1 - chance)) if recalls else 0.0
    var = float(np.var(y))
    if var == 0:
        return 0.0
    return max(0.0, 1 - float(np.mean((y - pred) ** 2)) / var)


def auc_of(truth: np.ndarray, score: np.ndarray) -> float:
    npos, nneg = int(truth.sum()), int((~truth).sum())
    if npos == 0 or nneg == 0:
        return 0.5
    ranks = rankdata(score)
    return float((ranks[truth].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def chance_z(codes: np.ndarray, y: np.ndarray, half: np.ndarray, task: str, n_classes: int, positive: int | None,
             rng: np.random.Generator, repeats: int = 20) -> tuple[float, float]:
    """(skill, z): the skill against the skills the same codes reach on permuted targets."""
    s = skill(codes, y, half, task, n_classes, positive)
    null = [skill(codes, rng.permutation(y), half, task, n_classes, positive) for _ in range(repeats)]
    return s, _z(s, null)


def _z(s: float, null: list[float]) -> float:
    """How far a skill sits above the skills of a null (in its spread, floored so a flat null is no infinity)."""
    return (s - float(np.mean(null))) / max(float(np.std(null)), 1e-3)


def order_z(order: np.ndarray, y: np.ndarray, half: np.ndarray, task: str, n_classes: int, positive: int | None,
            rng: np.random.Generator, bins: int = 10, repeats: int = 20) -> tuple[float, float]:
    """(skill, z) of the order an identifier encodes, against the skills of the same entities given their
    numbers in a random order. A repeated ID (a store, a courier) carries its entity's effect whatever its
    number, so shuffling rows would call any entity effect an order; shuffling the numbers between the
    entities keeps the effect and breaks only the order (for an ID unique to its row, the two are the same)."""
    s = skill(value_bins(order, bins), y, half, task, n_classes, positive)
    ok = np.isfinite(order)
    values, inverse = np.unique(order[ok], return_inverse=True)
    null = []
    for _ in range(repeats):
        shuffled = order.copy()
        shuffled[ok] = values[rng.permutation(len(values))][inverse]
        null.append(skill(value_bins(shuffled, bins), y, half, task, n_classes, positive))
    return s, _z(s, null)


def purity(codes: np.ndarray, y: np.ndarray, half: np.ndarray, n_classes: int, min_share: float,
           min_rows: int) -> Pure | None:
    """The class best covered by codes pure for it (between two, the rarer class says more)."""
    by_class = purity_by_class(codes, y, half, n_classes, min_share, min_rows)
    return max(by_class.values(), key=lambda p: p.coverage * (1 - float(np.mean(y == p.cls))), default=None)


def purity_by_class(codes: np.ndarray, y: np.ndarray, half: np.ndarray, n_classes: int, min_share: float,
                    min_rows: int) -> dict[int, Pure]:
    """Per class: the codes whose rows are (almost) all of that class on both halves (share >= min_share,
    learnt on one half, checked on the other), the share of the class's held-out rows they hold, their purity."""
    size = int(codes.max()) + 1
    y = y.astype(np.int64)
    tables = []
    for part in (half, ~half):
        t = np.zeros((size, n_classes))
        np.add.at(t, (codes[part], y[part]), 1)
        tables.append(t)
    out: dict[int, Pure] = {}
    for cls in range(n_classes):
        if np.mean(y == cls) > MAX_PURE_BASE_RATE:
            continue  # values pure for the common class are ordinary (free-tier users who never buy)
        covered, pure_rows, all_rows, picked = 0.0, 0.0, 0.0, []
        for a, b in ((0, 1), (1, 0)):
            learn, check = tables[a], tables[b]
            n_learn = learn.sum(axis=1)
            share = np.divide(learn[:, cls], n_learn, out=np.zeros(size), where=n_learn > 0)
            pure = (share >= min_share) & (n_learn >= min_rows)
            covered += check[pure, cls].sum() / max(check[:, cls].sum(), 1) / 2
            pure_rows += check[pure, cls].sum()
            all_rows += check[pure].sum()
            picked += np.flatnonzero(pure).tolist()
        held_purity = pure_rows / all_rows if all_rows else 0.0
        if held_purity >= min_share and covered > 0:
            out[cls] = Pure(cls, float(covered), float(held_purity), sorted(set(picked)))
    return out


def _pos(positive: int | None) -> int:
    return positive if positive is not None else 1
