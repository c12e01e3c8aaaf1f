"""Missing-value markers, decided per column: which written cells mean "no value".

Parsing keeps every cell as written (only empty cells are missing), so the decision is made here,
column by column, on the column's own values:
  - the usual markers (NA, N/A, NULL, NaN, None, #N/A, ...) are missing values, except where the
    column is a set of short upper-case codes and `NA` is one of them (North America, Namibia,
    sodium) or a set of capitalised levels and `None` is one of them (None / Low / High);
  - placeholders people type or spreadsheets write (-, --, an en or em dash, ?, ., n.a., k.A.,
    #NV, (blank), Excel error values such as #DIV/0!) are missing values too, never text, numbers
    or spreadsheet formulas, and the column's warning says how many there were.
Work is on the column's distinct values (pyarrow's value counts), never row by row.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from bot.scoping.common import fmt_int, show_cell, warning

STANDARD = frozenset({
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan", "null", "NONE", "none", "Null", "Nan", "NAN", "N/a", "na",
})
PLACEHOLDERS = frozenset({
    "-", "--", "---", "----", "\u2013", "\u2014", "\u2212", "?", "??", ".", "..", "...", "n.a.", "N.A.", "n. a.",
    "k.A.", "k. A.", "k.a.", "keine Angabe", "#NV", "n.v.", "n/v", "s.o.", "(blank)", "(leer)", "(vide)",
    "(empty)", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#WERT!", "#BEZUG!", "#ZAHL!",
    "#NOMBRE!", "#VALEUR!", "#REF", "nil", "NIL",
})
ALL = STANDARD | PLACEHOLDERS
_VALUE_SET = pa.array(sorted(ALL), type=pa.string())
STANDARD_SET = pa.array(sorted(STANDARD), type=pa.string())
_CODE = re.compile(r"^[A-Z]{2,5}$")
_LEVEL = re.compile(r"^[A-Z][a-z]+$")
CODE_SHARE = 0.9      # of the other values that must look like codes / levels
MIN_CODES = 3         # distinct other codes needed before NA reads as one of them
MAX_LEVELS = 20


def null_markers(col: pa.ChunkedArray, name: str, names: Any) -> tuple[pa.ChunkedArray, list[dict[str, Any]]]:
    """The column with its missing-value markers set to null, and a warning about unusual ones."""
    trimmed = pc.utf8_trim_whitespace(col)
    hit = pc.is_in(trimmed, value_set=_VALUE_SET)
    if not pc.any(hit).as_py():
        return col, []
    counts = _value_counts(trimmed)
    found = {v: k for v, k in counts.items() if v in ALL}
    others = {v: k for v, k in counts.items() if v not in ALL}
    kept = _kept_as_values(found, others)
    warns: list[dict[str, Any]] = []
    if kept:
        hit = pc.and_(hit, pc.invert(pc.is_in(trimmed, value_set=pa.array(sorted(kept), type=pa.string()))))
        examples = ", ".join(show_cell(v) for v in sorted(others, key=lambda v: -others[v])[:3])
        warns.append(warning(
            "missing_markers", names.show(name),
            f"{names.code(name)}: " + ", ".join(f"{show_cell(v)} ({fmt_int(found[v])} rows)" for v in sorted(kept))
            + f" read as a value like the column's others ({examples}), not as missing."))
    unusual = {v: k for v, k in found.items() if v in PLACEHOLDERS and v not in kept}
    if unusual:
        total = sum(unusual.values())
        shown = ", ".join(show_cell(v) for v in sorted(unusual, key=lambda v: -unusual[v])[:4])
        warns.append(warning(
            "missing_markers", names.show(name),
            f"{names.code(name)}: {fmt_int(total)} cell(s) written as {shown} were read as missing values "
            "(placeholders, not data or formulas)."))
    if not pc.any(hit).as_py():
        return col, warns
    return pc.if_else(hit, pa.scalar(None, pa.string()), col), warns


def _value_counts(trimmed: pa.ChunkedArray) -> dict[str, int]:
    vc = pc.value_counts(trimmed.combine_chunks() if isinstance(trimmed, pa.ChunkedArray) else trimmed)
    values = vc.field("values").to_pylist()
    counts = vc.field("counts").to_pylist()
    return {v: int(k) for v, k in zip(values, counts, strict=True) if v is not None and v != ""}


def _kept_as_values(found: dict[str, int], others: dict[str, int]) -> set[str]:
    """Markers that the column uses as real values: NA among codes, None among levels."""
    kept: set[str] = set()
    total = sum(others.values())
    if not total:
        return kept
    if "NA" in found:
        codes = {v: k for v, k in others.items() if _CODE.match(v)}
        if len(codes) >= MIN_CODES and sum(codes.values()) >= CODE_SHARE * total:
            kept.add("NA")
    if "None" in found and len(others) <= MAX_LEVELS:
        levels = {v: k for v, k in others.items() if _LEVEL.match(v)}
        if len(levels) >= MIN_CODES and sum(levels.values()) >= CODE_SHARE * total:
            kept.add("None")
    return kept
