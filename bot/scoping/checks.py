"""Warnings a person can act on, each {"code", "column", "message"}; the message names the column
(display-safe, in a code span) and the count.

Profile warnings come from column kinds and counts; target warnings from the class balance;
`leak_scan` tests every feature ALONE against the target on held-out halves: a feature that
predicts it almost perfectly (ROC-AUC or balanced accuracy >= 0.99, R2 >= 0.98, |r| >= 0.99 for a
number) is a leak suspect: warned about and excluded from the headline baselines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from bot.scoping.common import Names, fmt_int, fmt_share, show_cell, warning
from bot.scoping.convert import Table, as_float, codes_of, is_categorical, is_datetime
from bot.scoping.profile import Profile
from bot.scoping.target import Target

HIGH_MISSING = 0.4
HIGH_CARDINALITY = 100
SMALL_SAMPLE = 300
IMBALANCE = 0.1
LEAK_AUC = 0.99
LEAK_BALANCED_ACC = 0.99
LEAK_R2 = 0.98
LEAK_CORR = 0.99
LEAK_SAMPLE = 50_000
_FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r", "＠")


def profile_warnings(profile: Profile, names: Names, target_name: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    n = profile.rows
    for col, c in profile.columns.items():
        shown, code = names.show(col), names.code(col)
        is_target = col == target_name
        if c.kind == "empty" and not is_target:
            out.append(warning("constant_column", shown,
                               f"{code} is empty in every row ({fmt_int(n)} of {fmt_int(n)} missing): left out of the baselines."))
            continue
        if c.kind == "constant" and not is_target:
            out.append(warning("constant_column", shown,
                               f"{code} is constant (one value in all {fmt_int(n - c.missing)} rows with a value): "
                               "left out of the baselines."))
        if c.missing_share >= HIGH_MISSING and c.kind != "empty" and not is_target:
            out.append(warning("high_missing", shown,
                               f"{code} is {fmt_share(c.missing, n)} missing ({fmt_int(c.missing)} of {fmt_int(n)} rows): "
                               "models impute it, but ask why it is missing (it may carry signal, or be collected later)."))
        if is_target:
            continue
        if c.kind == "id":
            if c.group_id:
                msg = (f"{code} looks like an identifier ({fmt_int(c.unique)} distinct values that repeat over "
                       f"{fmt_int(n - c.missing)} rows): left out of the features; rows sharing an ID are kept in one fold.")
            else:
                msg = (f"{code} looks like an identifier ({fmt_int(c.unique)} unique values in {fmt_int(n - c.missing)} "
                       "rows): left out of the baselines (an ID predicts nothing new).")
            out.append(warning("id_column", shown, msg))
        elif c.kind == "text":
            out.append(warning("free_text", shown,
                               f"{code} looks like free text ({fmt_int(c.unique)} distinct values, several words each): left "
                               "out of the baselines; text features (TF-IDF, embeddings) are extra work to scope."))
        elif c.kind == "categorical" and c.unique > HIGH_CARDINALITY:
            out.append(warning("high_cardinality", shown,
                               f"{code} has high cardinality: {fmt_int(c.unique)} distinct values; the linear baseline "
                               "one-hot encodes the 20 most frequent and the trees the 250 most frequent, the rest are "
                               "grouped. Consider target or frequency encoding, or grouping the values."))
        elif c.kind == "datetime":
            out.append(warning("datetime_present", shown,
                               f"{code} is a date/time column ({fmt_int(c.unique)} distinct values): the baselines use it as a "
                               "day count, month, day of week and hour. Make sure only dates known at prediction time are used."))
            per_row = c.unique >= 0.5 * (n - c.missing)
            if per_row and c.duplicates:
                out.append(warning("duplicate_timestamps", shown,
                                   f"{code} has {fmt_int(c.duplicates)} duplicate timestamps (repeated values among "
                                   f"{fmt_int(n - c.missing)} rows): check for double-counted events before a time-based split."))
            if per_row and not c.monotonic:
                out.append(warning("unsorted_timestamps", shown,
                                   f"{code}: rows are not sorted by time (unsorted timestamps), so validation shuffles rows. "
                                   f"If the target depends on time, sort by {code} for a time-ordered check."))
    for col in profile.columns:
        if str(col).startswith(_FORMULA_CHARS):
            out.append(warning("formula_cells", names.show(col),
                               f"the column name {names.code(col)} starts like a spreadsheet formula (=, +, -, @); every "
                               "output shows it with a leading quote."))
    if profile.duplicate_rows:
        out.append(warning("duplicate_rows", None,
                           f"{fmt_int(profile.duplicate_rows)} duplicate rows ({fmt_share(profile.duplicate_rows, n)} of "
                           f"{fmt_int(n)}): exact copies can leak between training and validation folds; check whether "
                           "they are real repeats."))
    n_features = sum(1 for c, p in profile.columns.items() if c != target_name and p.kind not in ("empty", "constant"))
    if n_features > n or n_features > 1000:
        out.append(warning("wide_data", None,
                           f"wide data: more columns than rows ({fmt_int(n_features)} feature columns, {fmt_int(n)} rows); "
                           "models may overfit, so expect feature selection or regularisation work."))
    return out


def target_warnings(target: Target, names: Names, n_rows: int) -> list[dict[str, Any]]:
    out = list(target.warnings)
    shown, code = names.show(target.name), names.code(target.name)
    used = len(target.y)
    if used < SMALL_SAMPLE:
        out.append(warning("small_sample", None,
                           f"small sample: only {fmt_int(used)} rows with a target value; scores will vary between folds "
                           "(read the ± spread) and more data is likely to help."))
    if target.task != "regression":
        total = sum(target.counts)
        k = int(np.argmin(target.counts))
        share = target.counts[k] / total
        if share < IMBALANCE:
            out.append(warning("class_imbalance", shown,
                               f"{code}: class imbalance: the minority class {show_cell(target.classes[k])} is "
                               f"{fmt_share(target.counts[k], total)} of rows ({fmt_int(target.counts[k])} of {fmt_int(total)}); "
                               "accuracy is misleading here, read ROC-AUC, PR-AUC and balanced accuracy."))
    return out


# Leakage -----------------------------------------------------------------------------------


@dataclass
class Leak:
    column: str      # raw source column
    score: float
    how: str         # text for the message


def leak_scan(frame: Table, profile: Profile, target: Target, names: Names, random_state: int) -> list[Leak]:
    """Features that alone predict the target almost perfectly on held-out rows."""
    rows = target.rows
    y = target.y
    rng = np.random.default_rng(random_state)
    if len(rows) > LEAK_SAMPLE:
        pick = np.sort(rng.choice(len(rows), LEAK_SAMPLE, replace=False))
        rows, y = rows[pick], y[pick]
    if len(rows) < 20:
        return []
    half = rng.permutation(len(rows)) % 2 == 0
    leaks: list[Leak] = []
    done: set[str] = set()
    if target.task != "multiclass":
        dense = [col for col, c in profile.columns.items()
                 if col != target.name and c.kind in ("numeric", "id") and c.missing == 0
                 and not is_categorical(frame[col]) and not is_datetime(frame[col])]
        if len(dense) > 200:
            for start in range(0, len(dense), 256):
                group = dense[start:start + 256]
                leaks.extend(_leak_block(frame, group, rows, y, target))
                done.update(group)
    for col, c in profile.columns.items():
        if col == target.name or c.kind in ("empty", "constant", "text") or col in done:
            continue
        try:
            found = _leak_one(frame[col], c.kind, rows, y, half, target)
        except (ValueError, TypeError, FloatingPointError):
            found = None
        if found is not None:
            leaks.append(Leak(col, found[0], found[1]))
    return leaks


def _leak_one(s: Any, kind: str, rows: np.ndarray, y: np.ndarray, half: np.ndarray, target: Target):
    task = target.task
    if is_categorical(s):
        codes = codes_of(s)[rows].astype(np.int64)
        if (codes >= 0).sum() < 0.5 * len(codes):
            return None
        return _leak_by_groups(codes, y, half, task, len(target.classes), target.positive)
    if is_datetime(s):
        d = s[rows].astype("datetime64[s]")
        values = d.astype(np.int64).astype(np.float64)
        values[np.isnat(d)] = np.nan
    else:
        values = as_float(s)[rows]
    ok = np.isfinite(values)
    if ok.sum() < 0.5 * len(values) or ok.sum() < 20:
        return None
    v, t = values[ok], y[ok]
    if task == "binary":
        pos = target.positive if target.positive is not None else 1
        truth = t == pos
        npos, nneg = int(truth.sum()), int((~truth).sum())
        if npos < 3 or nneg < 3:
            return None
        ranks = rankdata(v)
        auc = (ranks[truth].sum() - npos * (npos + 1) / 2) / (npos * nneg)
        auc = max(auc, 1 - auc)
        return (float(auc), f"ROC-AUC {auc:.3f} on its own") if auc >= LEAK_AUC else None
    if task == "regression":
        if np.std(v) == 0 or np.std(t) == 0:
            return None
        r = abs(float(np.corrcoef(v, t)[0, 1]))
        rho = abs(float(np.corrcoef(rankdata(v), rankdata(t))[0, 1]))
        best = max(r, rho)
        return (best, f"correlation {best:.3f} with the target (a near-copy)") if best >= LEAK_CORR else None
    # multiclass: quantile bins, then the group test
    edges = np.unique(np.quantile(v, np.linspace(0, 1, 33)))
    codes = np.full(len(values), -1, dtype=np.int64)
    codes[ok] = np.searchsorted(edges, v, side="right")
    return _leak_by_groups(codes, y, half, task, len(target.classes), target.positive)


def _leak_block(frame: Table, group: list[str], rows: np.ndarray, y: np.ndarray, target: Target) -> list[Leak]:
    """Many NaN-free numeric columns at once (wide tables): ranks and correlations per block."""
    M = np.column_stack([as_float(frame[c])[rows] for c in group])
    out = []
    if target.task == "binary":
        truth = y == (target.positive if target.positive is not None else 1)
        npos, nneg = int(truth.sum()), int((~truth).sum())
        if npos < 3 or nneg < 3:
            return []
        R = rankdata(M, axis=0)
        auc = (R[truth].sum(axis=0) - npos * (npos + 1) / 2) / (npos * nneg)
        auc = np.maximum(auc, 1 - auc)
        for j in np.flatnonzero(auc >= LEAK_AUC):
            out.append(Leak(group[j], float(auc[j]), f"ROC-AUC {auc[j]:.3f} on its own"))
        return out
    with np.errstate(all="ignore"):
        def corr(A: np.ndarray, b: np.ndarray) -> np.ndarray:
            A = (A - A.mean(axis=0)) / A.std(axis=0)
            b = (b - b.mean()) / b.std()
            return np.abs(np.nan_to_num((A * b[:, None]).mean(axis=0)))
        best = np.maximum(corr(M, y.astype(float)), corr(rankdata(M, axis=0), rankdata(y)))
    for j in np.flatnonzero(best >= LEAK_CORR):
        out.append(Leak(group[j], float(best[j]), f"correlation {best[j]:.3f} with the target (a near-copy)"))
    return out


def _leak_by_groups(codes: np.ndarray, y: np.ndarray, half: np.ndarray, task: str, n_classes: int, positive: int | None):
    """Learn a per-value prediction on one half, score it on the other, both ways."""
    pred = np.full(len(y), np.nan) if task != "multiclass" else np.full(len(y), -1, dtype=np.int64)
    for train in (half, ~half):
        test = ~train
        ctr, ytr = codes[train], y[train]
        known = ctr >= 0
        if not known.any():
            return None
        size = int(max(codes.max(), 0)) + 1
        if task == "multiclass":
            table = np.zeros((size, n_classes))
            np.add.at(table, (ctr[known], ytr[known]), 1)
            majority = np.where(table.sum(axis=1) > 0, table.argmax(axis=1), -1)
            fallback = int(np.bincount(ytr, minlength=n_classes).argmax())
            cte = codes[test]
            p = np.where(cte >= 0, majority[np.clip(cte, 0, None)], -1)
            pred[test] = np.where(p >= 0, p, fallback)
        else:
            target_values = (ytr == (positive if positive is not None else 1)).astype(float) if task == "binary" else ytr
            sums = np.bincount(ctr[known], weights=target_values[known], minlength=size)
            cnts = np.bincount(ctr[known], minlength=size)
            prior = float(np.mean(target_values))
            means = np.where(cnts > 0, sums / np.maximum(cnts, 1), prior)
            cte = codes[test]
            pred[test] = np.where(cte >= 0, means[np.clip(cte, 0, None)], prior)
    if task == "multiclass":
        from sklearn.metrics import balanced_accuracy_score

        score = float(balanced_accuracy_score(y, pred))
        return (score, f"balanced accuracy {score:.3f} on its own") if score >= LEAK_BALANCED_ACC else None
    if task == "binary":
        from sklearn.metrics import roc_auc_score

        truth = y == (positive if positive is not None else 1)
        if truth.all() or not truth.any():
            return None
        score = float(roc_auc_score(truth, pred))
        return (score, f"ROC-AUC {score:.3f} on its own") if score >= LEAK_AUC else None
    from sklearn.metrics import r2_score

    score = float(r2_score(y, pred))
    return (score, f"R2 {score:.3f} on its own") if score >= LEAK_R2 else None


def leak_warnings(leaks: list[Leak], names: Names) -> list[dict[str, Any]]:
    return [warning("leakage", names.show(lk.column),
                    f"possible target leakage: {names.code(lk.column)} predicts the target almost perfectly ({lk.how}). "
                    "It was left out of the baselines (scores are shown without it); check it is known at prediction "
                    "time and is not derived from the outcome or from the row order.")
            for lk in leaks]


def too_good_warning(score: float, metric: str, task: str) -> dict[str, Any] | None:
    perfect = {"roc_auc": 0.999, "f1_macro": 0.999, "r2": 0.999}[metric]
    if score >= perfect:
        return warning("leakage", None,
                       f"the best baseline scores {metric} {score:.3f}, near perfect: check the features for leakage "
                       "(a column derived from the outcome) before trusting it.")
    return None

