"""Target and task: which column to predict, which task, and refusals that say why.

`--target` must match a column exactly (a near match is listed, escaped so look-alike and
invisible characters show, never picked silently). Without it, a column named like
target/label/class/y/outcome is used; otherwise the error lists columns that could be targets.
An integer target with at most `class_max_distinct` values is classification. ID-like, constant,
all-missing, free-text and date targets are refused. Rows without a target value are left out;
classes with fewer rows than validation folds are left out, with warnings.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.errors import InputError, NotFound, TargetNeeded
from bot.scoping.common import Names, fmt_int, fmt_share, show_cell, warning
from bot.scoping.convert import Table, as_float, codes_of, is_categorical, is_datetime
from bot.scoping.profile import Profile
from bot.textsafe import display_cell, visible_repr

TARGET_NAMES = ("target", "label", "labels", "class", "y", "outcome", "response", "target_variable")
POSITIVE_WORDS = ("1", "yes", "y", "true", "t", "positive", "pos", "churn", "churned", "default", "fraud", "spam",
                  "high", "success", "won", "win", "1.0")
MAX_CLASSES = 100
TASKS = ("auto", "binary", "multiclass", "regression")


@dataclass
class Target:
    name: str                      # raw
    task: str                      # binary | multiclass | regression
    y: np.ndarray                  # int codes (classification) or float (regression), rows kept only
    rows: np.ndarray               # row positions kept
    classes: list[Any] = field(default_factory=list)   # raw class labels by code
    counts: list[int] = field(default_factory=list)
    positive: int | None = None    # code of the positive class (binary)
    dropped_classes: list[Any] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def metric(self) -> str:
        return {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}[self.task]


def choose_target(frame: Table, profile: Profile, names: Names, requested: str | None) -> str:
    columns = list(frame.columns)
    if requested is not None:
        if requested in frame.columns:
            return requested
        raise NotFound(_not_found_message(requested, columns),
                       hint="Pass --target with the exact column name (copy it from the header).")
    by_lower = {c.strip().lower(): c for c in reversed(columns)}
    for key in TARGET_NAMES:
        if key in by_lower:
            return by_lower[key]
    candidates = _candidates(profile)
    shown = names.many(candidates, 8) if candidates else "none found"
    raise TargetNeeded(
        "no target column given, and none is named like target, label, class, y or outcome. "
        f"Columns that could be targets: {shown}.",
        hint="Run again with --target COLUMN (the column to predict).")


def _not_found_message(requested: str, columns: list[str]) -> str:
    folded = {c.casefold().strip(): c for c in columns}
    close = [folded[k] for k in difflib.get_close_matches(requested.casefold().strip(), list(folded), n=5, cutoff=0.6)]
    for c in columns:
        if len(close) >= 5:
            break
        if c not in close and (requested.casefold().strip() in c.casefold() or c.casefold().strip() == requested.casefold().strip()):
            close.append(c)
    label_like = [c for c in columns if c.strip().lower() in TARGET_NAMES and c not in close]
    close.extend(label_like[: max(0, 5 - len(close))])
    shown = ", ".join("'" + visible_repr(c) + "'" for c in close) if close else "none"
    return (f"target column '{visible_repr(requested)}' not found: no column has exactly that name. "
            f"Closest names (escaped so hidden characters show): {shown}.")


def _candidates(profile: Profile) -> list[str]:
    out = []
    for name, c in profile.columns.items():
        if c.kind == "categorical" and 2 <= c.unique <= 20 or c.kind == "numeric":
            out.append(name)
    return out[::-1][:8]


def build_target(frame: Table, profile: Profile, names: Names, name: str, task: str, limits: Any) -> Target:
    if task not in TASKS:
        raise InputError(f"unknown task '{visible_repr(task)}'.", hint=f"Use one of: {', '.join(TASKS)}.")
    col = profile.columns[name]
    shown = names.code(name)
    s = frame[name]
    if col.kind == "empty":
        raise InputError(f"the target {shown} has no values: every row is empty or missing (NaN).",
                         hint="Pick a column with values to predict (--target COLUMN).")
    if col.kind == "id":
        raise InputError(f"the target {shown} has {fmt_int(col.unique)} unique values in {fmt_int(col.rows - col.missing)} "
                         "rows: it looks like an identifier (an ID), not something to predict.",
                         hint="Pick the outcome column instead (--target COLUMN).")
    if col.kind == "text":
        raise InputError(f"the target {shown} looks like free text ({fmt_int(col.unique)} distinct values of several "
                         "words; most values are unique), not a category or a number to predict.",
                         hint="Pick a column of categories or numbers, or label the text into a few classes first.")
    if col.kind == "constant":
        value = _first_value(s)
        raise InputError(f"the target {shown} has a single class (constant: {show_cell(value)} in all "
                         f"{fmt_int(col.rows - col.missing)} rows with a value), so there is nothing to predict.",
                         hint="Pick a column whose values vary, or add rows of the other outcomes.")
    if col.kind == "datetime" and task != "regression":
        raise InputError(f"the target {shown} holds dates; predicting a date is not a supported task.",
                         hint="Predict a number derived from it (for example days until the event) instead.")
    numeric = col.kind == "numeric" and not is_categorical(s)
    if task == "auto" and numeric:
        task = _infer_task(s, col, numeric, limits)  # (categories: by their classes once spellings are merged)
    if task == "regression":
        return _regression(s, name, names, numeric, limits)
    return _classification(s, name, names, task, limits)


def _infer_task(s: Any, col: Any, numeric: bool, limits: Any) -> str:
    if not numeric:
        return "binary" if col.unique == 2 else "multiclass"
    values = as_float(s)
    finite = values[np.isfinite(values)]
    integer = bool(np.all(np.mod(finite, 1) == 0))
    if integer and col.unique <= limits.class_max_distinct:
        return "binary" if col.unique == 2 else "multiclass"
    return "regression"


def _regression(s: Any, name: str, names: Names, numeric: bool, limits: Any = None) -> Target:
    shown = names.code(name)
    if not numeric:
        raise InputError(f"the target {shown} has text values; regression needs numbers.",
                         hint="Use --task auto (or binary/multiclass) for a target of categories.")
    values = as_float(s)
    keep = np.flatnonzero(np.isfinite(values))
    warns = _missing_target_warning(len(values) - len(keep), len(values), name, names)
    zeros = int((values[keep] == 0).sum())
    share = getattr(limits, "zero_target_share", 1.0)
    if len(keep) and zeros >= share * len(keep) and zeros < len(keep):
        warns.append(warning(
            "zero_inflated", names.show(name),
            f"{names.code(name)} is exactly 0 in {fmt_int(zeros)} of {fmt_int(len(keep))} rows "
            f"({fmt_share(zeros, len(keep))}), a zero-inflated target: one regression blurs whether and how much, "
            "so quote a two-part model (non-zero or not, then the amount) or a Tweedie loss."))
    return Target(name=name, task="regression", y=values[keep], rows=keep, warnings=warns)


def _classification(s: Any, name: str, names: Names, task: str, limits: Any) -> Target:
    shown = names.code(name)
    merged: list[dict] = []
    unknown_rows = 0
    if is_categorical(s):
        labels = np.asarray(s.categories, dtype=object)
        codes = codes_of(s).astype(np.int64)
        labels, codes, merged = _merge_spellings(labels, codes, name, names)
        merged += _multi_label(labels, codes, name, names)
        before = int((codes < 0).sum())
        codes, unknown = _unknown_outcomes(labels, codes, name, names)
        unknown_rows, merged = int((codes < 0).sum()) - before, merged + unknown
    else:
        values = as_float(s)
        values = np.where(np.isfinite(values), values, np.nan)
        if np.isfinite(values).any() and not np.all(np.mod(values[np.isfinite(values)], 1) == 0):
            distinct = np.unique(values[np.isfinite(values)]).size
            if distinct > MAX_CLASSES:
                raise InputError(f"the target {shown} has {fmt_int(distinct)} distinct decimal values: too many for "
                                 f"{task} classification.", hint="Use --task regression (or auto).")
        uniq, inv = np.unique(np.nan_to_num(values, nan=np.inf), return_inverse=True)
        labels = np.array([_label(v) for v in uniq], dtype=object)
        codes = inv.astype(np.int64)
        if np.isinf(uniq[-1]):
            codes = np.where(codes == len(uniq) - 1, -1, codes)
            labels = labels[:-1]
    present = codes >= 0
    counts = np.bincount(codes[present], minlength=len(labels))
    warns = _missing_target_warning(int((~present).sum()) - unknown_rows, len(codes), name, names) + merged
    used = np.flatnonzero(counts > 0)
    if task == "auto":
        task = "binary" if len(used) == 2 else "multiclass"
    if len(used) > MAX_CLASSES:
        raise InputError(f"the target {shown} has {fmt_int(len(used))} classes: too many to scope as classification "
                         f"(limit {MAX_CLASSES}).", hint="Group rare classes, or use --task regression for a number.")
    if len(used) < 2:
        raise InputError(f"the target {shown} has a single class (constant), so there is nothing to predict.",
                         hint="Pick a column whose values vary.")
    folds = limits.cv_folds
    rare = [int(k) for k in used if counts[k] < folds]
    kept_classes = [int(k) for k in used if counts[k] >= folds]
    if rare:
        total = int(present.sum())
        for k in rare[:5]:
            c = int(counts[k])
            sample_word = "sample" if c == 1 else "samples"
            warns.append(warning(
                "rare_class", names.show(name),
                f"{shown}: class {show_cell(labels[k])} has only {c} {sample_word} ({fmt_share(c, total)}), fewer than "
                f"the {folds} validation folds (least populated class); its rows were left out of the baselines."))
        if len(rare) > 5:
            warns.append(warning("rare_class", names.show(name),
                                 f"{shown}: {len(rare) - 5} more classes have fewer than {folds} rows; left out."))
    if len(kept_classes) < 2:
        raise InputError(f"the target {shown} has only one class with at least {folds} rows; the others are too rare "
                         "to validate a model.", hint="Add rows of the rare classes, or pick another target.")
    if task == "binary" and len(kept_classes) != 2:
        raise InputError(f"--task binary needs a target with 2 classes; {shown} has {len(kept_classes)}.",
                         hint="Use --task multiclass (or auto).")
    if task == "multiclass" and len(kept_classes) == 2 and len(used) == 2:
        pass  # allowed: scored with macro F1
    remap = -np.ones(len(labels), dtype=np.int64)
    remap[kept_classes] = np.arange(len(kept_classes))
    y_all = np.where(present, remap[np.clip(codes, 0, None)], -1)
    keep = np.flatnonzero(y_all >= 0)
    classes = [labels[k] for k in kept_classes]
    kcounts = [int(counts[k]) for k in kept_classes]
    if task == "auto":
        task = "binary" if len(classes) == 2 else "multiclass"
    elif task == "binary" or len(classes) == 2 and task != "multiclass":
        task = "binary"
    positive = _positive(classes, kcounts) if task == "binary" else None
    return Target(name=name, task=task, y=y_all[keep].astype(np.int32), rows=keep, classes=classes, counts=kcounts,
                  positive=positive, dropped_classes=[labels[k] for k in rare], warnings=warns)


_YES = frozenset({"y", "yes", "true", "t"})
_NO = frozenset({"n", "no", "false", "f"})


def _merge_spellings(labels: np.ndarray, codes: np.ndarray, name: str, names: Names):
    """Class labels that differ only in case and surrounding spaces ("Yes", "yes ", "YES") are one class, and
    so are Y/yes/true and N/no/false when every label is one of those: (labels, codes, warnings). Each merged
    class keeps its most frequent spelling."""
    keys = [str(lab).strip().casefold() for lab in labels]
    if keys and all(k in _YES | _NO for k in keys) and any(k in _YES for k in keys) and any(k in _NO for k in keys):
        keys = ["yes" if k in _YES else "no" for k in keys]
    if len(set(keys)) == len(keys):
        return labels, codes, []
    counts = np.bincount(codes[codes >= 0], minlength=len(labels))
    order = list(dict.fromkeys(keys))
    groups = {k: [i for i, key in enumerate(keys) if key == k] for k in order}
    new_labels = np.array([labels[max(groups[k], key=lambda i: counts[i])] for k in order], dtype=object)
    remap = np.array([order.index(k) for k in keys], dtype=np.int64)
    new_codes = np.where(codes >= 0, remap[np.clip(codes, 0, None)], -1)
    spelt = [(new_labels[order.index(k)], [labels[i] for i in g]) for k, g in groups.items() if len(g) > 1]
    shown = "; ".join(f"{', '.join(show_cell(v) for v in variants[:6])} as {show_cell(label)}"
                      for label, variants in spelt[:4])
    return new_labels, new_codes, [warning(
        "labels_merged", names.show(name),
        f"{names.code(name)}: {len(labels)} label spellings read as {len(order)} classes ({shown}); check with the "
        "client that these mean the same outcome.")]


_UNKNOWN = frozenset({"unknown", "unk", "not known", "not recorded", "no data", "unbekannt", "inconnu",
                      "desconocido", "sconosciuto", "onbekend"})


def _unknown_outcomes(labels: np.ndarray, codes: np.ndarray, name: str, names: Names):
    """Rows whose outcome is written as unknown ("Unknown", "not recorded") have no target value: a model
    cannot learn to predict "we do not know". (codes with those rows at -1, warnings); the label stays a
    class when fewer than two others are left."""
    unknown = [i for i, lab in enumerate(labels) if str(lab).strip().casefold() in _UNKNOWN]
    if not unknown or len(labels) - len(unknown) < 2:
        return codes, []
    hit = np.isin(codes, unknown)
    rows = int(hit.sum())
    if not rows:
        return codes, []
    spelt = ", ".join(show_cell(labels[i]) for i in unknown[:3])
    return np.where(hit, -1, codes), [warning(
        "missing_target", names.show(name),
        f"{names.code(name)}: {fmt_int(rows)} of {fmt_int(len(codes))} rows ({fmt_share(rows, len(codes))}) have the "
        f"outcome {spelt}, which is no class to predict; they were left out of the baselines. Ask the client "
        "whether these outcomes can still be found out (they may be the most recent cases).")]


def _multi_label(labels: np.ndarray, codes: np.ndarray, name: str, names: Names) -> list[dict]:
    """A warning when the class labels are combinations of a few labels joined by "|", ";" or ","
    ("billing", "billing|urgent", "tech|urgent"): each combination is scored as a class of its own, while
    a row that can carry several labels calls for one yes/no model per label."""
    texts = [str(lab).strip() for lab in labels]
    counts = np.bincount(codes[codes >= 0], minlength=len(labels))
    for sep in ("|", ";", ","):
        joined = [i for i, t in enumerate(texts) if sep in t]
        if len(joined) < 2:
            continue
        parts = [[p.strip() for p in t.split(sep) if p.strip()] for t in texts]
        atoms = sorted({p for ps in parts for p in ps})
        seen = {a: sum(a in ps for ps in parts) for a in atoms}
        if len(atoms) >= len(texts) or any(seen[p] < 2 for i in joined for p in parts[i]) \
                or counts[joined].sum() < 0.05 * max(1, counts.sum()):
            continue
        example = show_cell(texts[max(joined, key=lambda i: counts[i])])
        return [warning(
            "multi_label", names.show(name),
            f"{names.code(name)} looks multi-label: {len(joined)} of its {len(texts)} values join labels with "
            f"'{sep}' (for example {example}), and each combination was scored as a class of its own. If a row can "
            f"carry several labels, quote a multi-label model instead: one yes/no model per label "
            f"({', '.join(show_cell(a) for a in atoms[:8])}).")]
    return []


def _first_value(a: Any) -> Any:
    if is_categorical(a):
        codes = codes_of(a)
        ok = np.flatnonzero(codes >= 0)
        return a.categories[codes[ok[0]]] if ok.size else None
    if is_datetime(a):
        ok = np.flatnonzero(~np.isnat(a))
        return str(a[ok[0]]) if ok.size else None
    v = as_float(a)
    ok = np.flatnonzero(~np.isnan(v))
    return _label(v[ok[0]]) if ok.size else None


def _label(v: float) -> Any:
    if not np.isfinite(v):
        return None
    return int(v) if float(v).is_integer() else float(v)


def _positive(classes: list[Any], counts: list[int]) -> int:
    lowered = [str(c).strip().lower() for c in classes]
    for word in POSITIVE_WORDS:
        if word in lowered:
            return lowered.index(word)
    return int(np.argmin(counts))


def _missing_target_warning(missing: int, total: int, name: str, names: Names) -> list[dict]:
    if not missing:
        return []
    return [warning("missing_target", names.show(name),
                    f"{names.code(name)}: {fmt_int(missing)} of {fmt_int(total)} rows ({fmt_share(missing, total)}) have "
                    "no target value (missing or infinite); they were left out of the baselines.")]


def target_summary(target: Target, names: Names) -> dict[str, Any]:
    """The target distribution for the report (class labels display-safe)."""
    if target.task == "regression":
        y = target.y
        q = np.quantile(y, [0.05, 0.5, 0.95]) if len(y) else [np.nan] * 3
        return {"rows": int(len(y)), "mean": float(np.mean(y)), "std": float(np.std(y)), "min": float(np.min(y)),
                "p05": float(q[0]), "median": float(q[1]), "p95": float(q[2]), "max": float(np.max(y))}
    total = sum(target.counts)
    classes = [{"label": display_cell(c, 40), "count": k, "share": round(k / total, 4)}
               for c, k in sorted(zip(target.classes, target.counts, strict=True), key=lambda t: -t[1])[:30]]
    out: dict[str, Any] = {"rows": int(total), "classes": classes, "n_classes": len(target.classes)}
    if target.positive is not None:
        out["positive_class"] = display_cell(target.classes[target.positive], 40)
    if target.dropped_classes:
        out["dropped_classes"] = [display_cell(c, 40) for c in target.dropped_classes[:20]]
    return out
