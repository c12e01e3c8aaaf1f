"""Warnings a person can act on, each {"code", "column", "message"}; the message names the column
(display-safe, in a code span) and the count.

Profile warnings come from column kinds and counts; target warnings from the class balance;
leakage is `leaks.py` (re-exported here).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.scoping.common import Names, fmt_int, fmt_share, show_cell, warning
from bot.scoping.leaks import Leak, leak_scan, leak_warnings
from bot.scoping.profile import Profile
from bot.scoping.target import Target

__all__ = ["Leak", "leak_scan", "leak_warnings", "profile_warnings", "target_warnings", "too_good_warning"]

HIGH_MISSING = 0.4
HIGH_CARDINALITY = 100
SMALL_SAMPLE = 300
IMBALANCE = 0.1
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
                       f"{fmt_int(n - c.missing)} rows): left out of the features; it can group the validation folds "
                       "so that rows sharing an ID stay together (see the validation note).")
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
            if c.duplicates and (c.duplicates_within or per_row):
                where = (f"within one {names.code(c.duplicates_within)} (the same ID at the same time, among "
                         if c.duplicates_within else "(repeated values among ")
                out.append(warning("duplicate_timestamps", shown,
                                   f"{code} has {fmt_int(c.duplicates)} duplicate timestamps {where}"
                                   f"{fmt_int(n - c.missing)} rows): check for double-counted events before a time-based split."))
            if per_row and not c.monotonic and not c.ordered_within:
                grouped = any(p.group_id for p in profile.columns.values())
                out.append(warning("unsorted_timestamps", shown,
                                   f"{code}: rows are not sorted by time (unsorted timestamps), so {code} cannot order the "
                                   f"validation folds. If the target depends on time, sort the file by {code} and scope "
                                   "again" + (" (rows of one ID stay grouped either way)." if grouped else ".")))
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


def too_good_warning(score: float, metric: str, task: str) -> dict[str, Any] | None:
    perfect = {"roc_auc": 0.999, "f1_macro": 0.999, "r2": 0.999}[metric]
    if score >= perfect:
        return warning("leakage", None,
                       f"the best baseline scores {metric} {score:.3f}, near perfect: check the features for leakage "
                       "(a column derived from the outcome) before trusting it.")
    return None

