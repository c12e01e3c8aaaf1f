"""Profile: what each column is (numeric, categorical, datetime, free text, ID-like, constant,
empty), its missingness and cardinality, and file-level facts (duplicate rows).

Kinds drive everything after: ID-like, free-text, constant and empty columns never enter a
baseline; a repeating ID can group the validation folds; an ordered datetime can make them
time-ordered. The report carries counts and shares, never cell values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bot.scoping.common import finite_or_none
from bot.scoping.convert import TypedTable, as_float, codes_of, is_categorical, is_datetime

_ID_NAME = re.compile(r"(?i)(^|[^a-z0-9])(id|ids|uuid|guid|key|index|idx)$|^(id|uuid|guid)[^a-z]|[a-z0-9](Id|ID)$")
_INDEX_NAME = re.compile(r"(?i)^(unnamed: ?\d+|index|row|row_?id|row_?num(ber)?|#|no|n)$")
EXACT_UNIQUE_MAX = 200_000
BULK_MIN_COLUMNS = 200
BULK_GROUP = 256
SHORT_TEXT_WORDS = 2         # mean words per value of a short text (subjects, titles)
SHORT_TEXT_DISTINCT = 20     # distinct values, at least (fewer are categories)
SHORT_TEXT_TOKEN_RATIO = 0.8 # distinct words per distinct value, at most (names and codes are higher)
ENTITY_MIN_IDS = 20          # distinct values of a repeating ID (fewer are categories)
ENTITY_CODE_SHARE = 0.9      # share of values shaped like codes (CR-1000) for an ID without an ID-like name
ID_DENSITY = 20              # unique integers within this many times their count of each other: a key
ORDERED_SHARE = 0.99         # of consecutive rows in time order: the rows are in time order
KINDS = ("numeric", "categorical", "datetime", "text", "id", "constant", "empty")


@dataclass
class ColumnProfile:
    name: str                 # raw (computation only)
    kind: str
    missing: int
    unique: int
    rows: int
    group_id: bool = False    # an ID whose values repeat: candidate to group validation folds
    monotonic: bool = False   # datetime (or integer) non-decreasing in file order
    duplicates: int = 0       # repeated values (datetime columns)
    ordered_within: str | None = None  # datetime in order within each entity of this repeating ID (rows kept together)
    duplicates_within: str | None = None  # `duplicates` counts repeats within each entity of this ID (a panel)
    stats: dict[str, Any] | None = None

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0


@dataclass
class Profile:
    rows: int
    columns: dict[str, ColumnProfile]
    duplicate_rows: int

    def of_kind(self, *kinds: str) -> list[str]:
        return [n for n, c in self.columns.items() if c.kind in kinds]


def looks_like_id_name(name: str) -> bool:
    return bool(_ID_NAME.search(name.strip()) or _INDEX_NAME.match(name.strip()))


def profile_table(table: TypedTable) -> Profile:
    frame = table.frame
    n = frame.rows
    cols: dict[str, ColumnProfile] = {}
    numeric = [name for name in frame.columns if table.info[name].kind == "numeric"]
    if len(numeric) > BULK_MIN_COLUMNS:
        for start in range(0, len(numeric), BULK_GROUP):
            group = numeric[start:start + BULK_GROUP]
            cols.update(_profile_numeric_block(group, frame, table.info, n))
    for name in frame.columns:
        if name not in cols:
            cols[name] = _profile_column(name, frame[name], table.info[name], n)
    ordered = {name: cols[name] for name in frame.columns}
    _order_within_entities(frame, ordered)
    return Profile(rows=n, columns=ordered, duplicate_rows=duplicate_rows(frame))


def _order_within_entities(frame: Any, cols: dict[str, ColumnProfile]) -> None:
    """Mark datetimes that are in time order within each entity's block of rows (a file sorted by ID, then
    time), and count a panel's duplicate timestamps within an entity (many entities share a date: a repeat
    is the same entity at the same time)."""
    entities = [name for name, c in cols.items() if c.group_id]
    if not entities:
        return
    groups = {name: _entity_codes(frame[name]) for name in entities}
    for name, c in cols.items():
        if c.kind != "datetime":
            continue
        t = frame[name].astype("datetime64[s]").astype(np.int64)
        ok = ~np.isnat(frame[name])
        g = groups[entities[0]]
        c.duplicates = int(pd.DataFrame({"g": g[ok], "t": t[ok]}).duplicated().sum())
        c.duplicates_within = entities[0]
        if c.monotonic:
            continue
        for entity in entities:
            g = groups[entity]
            same = (g[1:] == g[:-1]) & ok[1:] & ok[:-1]
            if same.sum() >= 0.5 * frame.rows and np.mean(np.diff(t)[same] >= 0) >= ORDERED_SHARE:
                c.ordered_within = entity
                break


def _entity_codes(a: Any) -> np.ndarray:
    return codes_of(a) if is_categorical(a) else pd.factorize(as_float(a))[0]


def _profile_column(name: str, a: Any, info: Any, n: int) -> ColumnProfile:
    if info.kind == "empty":
        return ColumnProfile(name, "empty", n, 0, n)
    if is_datetime(a):
        nat = np.isnat(a)
        missing = int(nat.sum())
        values = a[~nat]
        if values.size == 0:
            return ColumnProfile(name, "empty", n, 0, n)
        unique = int(pd.unique(values).size)
        if unique <= 1:
            return ColumnProfile(name, "constant", missing, unique, n)
        mono = bool(np.all(values[1:] >= values[:-1]))
        stats = {"min": str(values.min())[:10], "max": str(values.max())[:10]}
        return ColumnProfile(name, "datetime", missing, unique, n, monotonic=mono and missing <= 0.05 * n,
                             duplicates=int(values.size - unique), stats=stats)
    if is_categorical(a):
        codes = codes_of(a)
        counts = np.bincount(codes[codes >= 0], minlength=len(a.categories))
        missing = int((codes < 0).sum())
        present = n - missing
        if present == 0:
            return ColumnProfile(name, "empty", n, 0, n)
        unique = int((counts > 0).sum())
        if unique <= 1:
            return ColumnProfile(name, "constant", missing, unique, n)
        stats = {"top_share": round(float(counts.max() / present), 4), "mean_length": round(info.mean_len, 1),
                 "max_length": int(info.max_len)}
        kind, group = _text_kind(name, info, present, unique)
        if kind == "text":
            stats.update(text="long" if _long_text(info, present, unique) else "short",
                         mean_words=round(info.mean_words, 1))
        if kind is not None:
            return ColumnProfile(name, kind, missing, unique, n, group_id=group, stats=stats)
        return ColumnProfile(name, "categorical", missing, unique, n, stats=stats)
    values = as_float(a)
    ok = ~np.isnan(values)
    finite = values[ok]
    missing = int(n - finite.size)
    if finite.size == 0:
        return ColumnProfile(name, "empty", n, 0, n)
    mono = bool(np.all(finite[1:] >= finite[:-1]))
    steps_one = bool(finite.size > 1 and np.all(np.diff(finite) == 1))
    stats = _stats(finite)
    if steps_one:
        unique = int(finite.size)
    elif stats["min"] == stats["max"]:
        unique = 1
    elif finite.size > EXACT_UNIQUE_MAX and not (info.integer and looks_like_id_name(name)):
        # a lower bound from a sample: exact counts of a million distinct floats cost a hash table each
        pick = np.random.default_rng(0).choice(finite.size, EXACT_UNIQUE_MAX, replace=False)
        unique = int(pd.unique(finite[pick]).size)
        stats["unique_from_sample"] = EXACT_UNIQUE_MAX
    else:
        unique = int(pd.unique(finite).size)
    return _numeric_kind(name, info, n, missing, unique, mono, steps_one, stats)


def _long_text(info: Any, present: int, unique: int) -> bool:
    return present >= 10 and (info.mean_words >= 4 and unique >= 0.5 * present
                              or info.mean_len >= 60 and unique >= 0.3 * present)


def _text_kind(name: str, info: Any, present: int, unique: int) -> tuple[str | None, bool]:
    """(kind, repeats) of a text column that is not a category: free text (long, or short such as
    subjects and titles: several words from a shared vocabulary), or an identifier (unique values,
    or values shaped like codes or named like an ID that repeat over rows: an entity)."""
    token_ratio = info.extra.get("token_ratio", 1.0)
    code_share = info.extra.get("code_share", 0.0)
    if _long_text(info, present, unique):
        return "text", False
    if (present >= 20 and info.mean_words >= SHORT_TEXT_WORDS and unique >= max(SHORT_TEXT_DISTINCT, 0.02 * present)
            and token_ratio <= SHORT_TEXT_TOKEN_RATIO and code_share < 0.5):
        return "text", False
    if present >= 20 and unique >= 0.95 * present:
        return "id", False
    if present >= 20 and unique >= ENTITY_MIN_IDS and (looks_like_id_name(name) or code_share >= ENTITY_CODE_SHARE):
        return "id", True
    return None, False


def _numeric_kind(name: str, info: Any, n: int, missing: int, unique: int, mono: bool, steps_one: bool,
                  stats: dict) -> ColumnProfile:
    present = n - missing
    if unique <= 1:
        return ColumnProfile(name, "constant", missing, unique, n)
    if info.integer and present >= 20:
        id_name = looks_like_id_name(name)
        all_unique = unique == present
        span = (stats["max"] or 0) - (stats["min"] or 0) + 1
        dense = present >= 50 and span <= ID_DENSITY * present  # random integers this dense would collide
        if all_unique and (id_name or (mono and steps_one) or dense):
            return ColumnProfile(name, "id", missing, unique, n, monotonic=mono, stats=stats)
        if id_name and unique >= ENTITY_MIN_IDS and unique < present:
            return ColumnProfile(name, "id", missing, unique, n, group_id=True, stats=stats)
    return ColumnProfile(name, "numeric", missing, unique, n, monotonic=mono, stats=stats)


def _stats(finite: np.ndarray) -> dict[str, Any]:
    return {"mean": finite_or_none(finite.mean()), "std": finite_or_none(finite.std()),
            "min": finite_or_none(finite.min()), "max": finite_or_none(finite.max())}


def _profile_numeric_block(names: list[str], frame: Any, infos: dict, n: int) -> dict[str, ColumnProfile]:
    """Many numeric columns at once (wide tables): one sort per block instead of a loop of small calls."""
    block = np.column_stack([as_float(frame[c]) for c in names])
    nan = np.isnan(block)
    present = n - nan.sum(axis=0)
    srt = np.sort(block, axis=0)  # NaN sorts last
    changes = np.diff(srt, axis=0) != 0
    valid = np.arange(n - 1)[:, None] < (present - 1)[None, :]
    unique = np.where(present > 0, 1 + (changes & valid).sum(axis=0), 0)
    diffs = np.diff(block, axis=0)
    no_nan = ~nan.any(axis=0)
    mono = no_nan & np.all(diffs >= 0, axis=0)
    steps_one = no_nan & np.all(diffs == 1, axis=0)
    with np.errstate(all="ignore"):
        mean, std = np.nanmean(block, axis=0), np.nanstd(block, axis=0)
        lo, hi = np.nanmin(block, axis=0), np.nanmax(block, axis=0)
    out = {}
    for j, name in enumerate(names):
        if present[j] == 0:
            out[name] = ColumnProfile(name, "empty", n, 0, n)
            continue
        if not no_nan[j]:
            out[name] = _profile_column(name, frame[name], infos[name], n)
            continue
        stats = {"mean": finite_or_none(mean[j]), "std": finite_or_none(std[j]), "min": finite_or_none(lo[j]),
                 "max": finite_or_none(hi[j])}
        out[name] = _numeric_kind(name, infos[name], n, int(n - present[j]), int(unique[j]), bool(mono[j]),
                                  bool(steps_one[j]), stats)
    return out


def duplicate_rows(frame: Any) -> int:
    """Exact duplicate rows, from a 64-bit hash per row built column by column."""
    if frame.shape[1] == 0 or frame.rows < 2:
        return 0
    return int(frame.rows - pd.unique(row_hashes(frame)).size)


def row_hashes(frame: Any) -> np.ndarray:
    """A 64-bit hash per row, built column by column: exact copies share one."""
    acc = np.zeros(frame.rows, dtype=np.uint64)
    for _, a in frame.items():
        if is_categorical(a):
            h = codes_of(a).astype(np.uint64)
        elif is_datetime(a):
            h = a.view(np.int64).astype(np.uint64)
        else:
            v = as_float(a).copy()
            v[np.isnan(v)] = -1.2345e300
            h = v.view(np.uint64)
        with np.errstate(over="ignore"):
            acc = (acc * np.uint64(1_000_003)) ^ pd.util.hash_array(h)
    return acc


def profile_json(profile: Profile, names: Any, limit: int = 300) -> dict[str, Any]:
    """The profile for the report: counts and shares only, names display-safe, at most `limit` columns."""
    kinds: dict[str, int] = {}
    for c in profile.columns.values():
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    items = []
    for c in list(profile.columns.values())[:limit]:
        item: dict[str, Any] = {"name": names.show(c.name), "kind": c.kind, "missing": c.missing,
                                "missing_share": round(c.missing_share, 4), "unique": c.unique}
        if c.stats:
            item.update(c.stats)
        if c.group_id:
            item["repeats"] = True
        items.append(item)
    out = {"rows": profile.rows, "kinds": kinds, "duplicate_rows": profile.duplicate_rows, "columns": items}
    if len(profile.columns) > limit:
        out["columns_truncated"] = len(profile.columns) - limit
    return out
