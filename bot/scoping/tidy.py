"""Rows that are not records: summary (total, subtotal, average) rows and repeated header rows.

Spreadsheet and report exports add rows that describe the other rows: a `Total` or `Gesamt` line
at the end, subtotals after each group, the header repeated at every page break. Left in, they
become outliers (a fee column's maximum is the sum of all fees), turn an ID column into mixed
types and enter the models. They are found, reported (warning `summary_rows`) and left out of the
profile and the models:
  - on the text, before typing: a cell that is a summary word in any of the usual export
    languages (whole cell, case-insensitive, optionally followed by a year or a number), in a
    row at the start or end of the file or a row much emptier than the others, whose value is
    rare in its column; and rows whose cells repeat the header's names;
  - on the typed table: a first or last row whose numbers are the sums of the other rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bot.scoping.common import fmt_int, show_cell, warning

SUMMARY_WORDS = (
    # English, German, French, Italian, Spanish, Portuguese, Dutch, Nordic, Finnish, Polish, Czech,
    # Hungarian, Turkish, Russian, Chinese, Japanese, Korean; averages as well as totals
    "total", "totals", "grand total", "sub-total", "subtotal", "sub total", "sum", "sums", "overall",
    "summe", "gesamt", "gesamtsumme", "insgesamt", "zwischensumme", "endsumme", "gesamtergebnis", "summen",
    "total général", "total general", "sous-total", "totale", "totale generale", "subtotale", "somma",
    "totaal", "subtotaal", "eindtotaal", "totalt", "summa", "i alt", "samtals", "yhteensä", "razem", "suma",
    "celkem", "celkový součet", "összesen", "toplam", "genel toplam", "итого", "всего", "合計", "合计", "总计",
    "小計", "小计", "총계", "합계", "σ", "average", "avg", "mean", "durchschnitt", "mittelwert", "moyenne",
    "media", "promedio", "média", "gemiddelde", "ø",
)
_SUMMARY = "(?i)^(" + "|".join(re.escape(w) for w in sorted(SUMMARY_WORDS, key=len, reverse=True)) + \
    r")(\s*[:.]?\s*[\d/.\-]{0,12})?\s*[:.]?$"
EDGE_ROWS = 3             # rows at the start or end of the data where a summary word alone is enough
SPARSER_BY = 0.25         # elsewhere the row must be this much emptier (share of cells) than the median row
RARE_SHARE = 0.05         # a summary word used in more rows than this is a category, not a summary
HEADER_MATCH = 0.5        # share of a row's cells equal to their column's name for a repeated header
SUM_RTOL = 1e-3           # a number within this of the other rows' sum is their total
GROUP_CELLS = 4_000_000   # cells joined per C++ call


def drop_text_rows(raw: Any) -> None:
    """Remove summary rows and repeated header rows from a RawTable (in place), with warnings."""
    n = raw.rows
    if n < 3 or not raw.columns:
        return
    cells = _cell_facts(raw)
    header = np.flatnonzero(cells.header_hits >= max(2, HEADER_MATCH * len(raw.columns)))
    summary, label = _summary_rows(raw, cells, exclude=header)
    drop = np.zeros(n, dtype=bool)
    drop[header] = True
    drop[summary] = True
    if not drop.any() or drop.sum() >= n / 2:
        return
    keep = pa.array(~drop)
    raw.columns = [c.filter(keep) for c in raw.columns]
    raw.rows = int(n - drop.sum())
    if len(summary):
        col, value = label
        raw.warnings.append(warning(
            "summary_rows", raw.display.show(col),
            f"{fmt_int(len(summary))} summary row(s) ({_where(summary, n)}) read {show_cell(value)} in "
            f"{raw.display.code(col)}: totals or averages of the other rows, not records. Left out of the profile "
            "and the models."))
    if len(header):
        raw.warnings.append(warning(
            "summary_rows", None,
            f"{fmt_int(len(header))} repeated header row(s) ({_where(header, n)}) repeat the column names, as "
            "exports do at page breaks: left out of the profile and the models."))
    raw.info["rows_dropped"] = int(drop.sum())


def _where(rows: np.ndarray, n: int) -> str:
    shown = ", ".join("the last data row" if r == n - 1 else f"data row {fmt_int(r + 1)}" for r in rows[:4])
    return shown + (f" and {fmt_int(len(rows) - 4)} more" if len(rows) > 4 else "")


@dataclass
class _Cells:
    header_hits: np.ndarray            # per row: cells equal to their column's name
    blank: np.ndarray                  # per row: empty cells
    summary: dict[int, np.ndarray]     # column index -> rows whose cell is a summary word


def _cell_facts(raw: Any) -> _Cells:
    """Per-row counts over all columns, computed on groups of columns joined into one array (few C++ calls)."""
    n, m = raw.rows, len(raw.columns)
    out = _Cells(np.zeros(n, dtype=np.int32), np.zeros(n, dtype=np.int32), {})
    width = max(1, GROUP_CELLS // max(n, 1))
    for start in range(0, m, width):
        idx = list(range(start, min(m, start + width)))
        joined = pa.chunked_array([ch for i in idx for ch in raw.columns[i].chunks], type=pa.string())
        trimmed = pc.utf8_trim_whitespace(joined)
        names = pa.array([raw.names[i].strip() for i in idx], type=pa.string()).take(
            pa.array(np.repeat(np.arange(len(idx)), n)))
        shape = (len(idx), n)
        out.header_hits += _bools(pc.equal(trimmed, names), shape).sum(axis=0).astype(np.int32)
        out.blank += _bools(pc.or_kleene(pc.is_null(trimmed), pc.equal(trimmed, "")), shape, True).sum(axis=0)
        hits = _summary_cells(trimmed)
        if hits is not None:
            hits = hits.reshape(shape)
            for k in np.flatnonzero(hits.any(axis=1)):
                out.summary[idx[k]] = np.flatnonzero(hits[k])
    return out


def _summary_cells(trimmed: Any) -> np.ndarray | None:
    """Cells that are a summary word: the (slow) pattern runs on the distinct short values that start with a
    letter or symbol only, never on every cell."""
    enc = pc.dictionary_encode(trimmed.combine_chunks())
    words = enc.dictionary
    maybe = pc.and_(pc.less_equal(pc.utf8_length(words), 40), pc.match_substring_regex(words, r"^[^\d\s+\-.,]"))
    pick = np.flatnonzero(pc.fill_null(maybe, False).to_numpy(zero_copy_only=False))
    if not len(pick):
        return None
    found = pc.match_substring_regex(words.take(pa.array(pick)), _SUMMARY).to_numpy(zero_copy_only=False)
    if not found.any():
        return None
    is_summary = np.zeros(len(words) + 1, dtype=bool)
    is_summary[pick[found]] = True
    codes = pc.fill_null(enc.indices, len(words)).to_numpy(zero_copy_only=False)
    return is_summary[codes]


def _bools(a: Any, shape: tuple[int, int], null: bool = False) -> np.ndarray:
    return pc.fill_null(a, null).to_numpy(zero_copy_only=False).reshape(shape)


def _summary_rows(raw: Any, cells: _Cells, exclude: np.ndarray) -> tuple[np.ndarray, tuple[str, str]]:
    n = raw.rows
    found: dict[int, tuple[str, str]] = {}
    for i, rows in cells.summary.items():
        if len(rows) > max(EDGE_ROWS, RARE_SHARE * n):
            continue  # a category that happens to be a summary word
        for r in rows:
            found.setdefault(int(r), (raw.names[i], str(raw.columns[i][int(r)].as_py()).strip()))
    candidates = np.array(sorted(set(found) - set(exclude.tolist())), dtype=np.int64)
    if not len(candidates):
        return candidates, ("", "")
    share = cells.blank / len(raw.columns)
    edge = (candidates < EDGE_ROWS) | (candidates >= n - EDGE_ROWS)
    sparse = share[candidates] >= float(np.median(share)) + SPARSER_BY
    rows = candidates[edge | sparse]
    return rows, (found[int(rows[0])] if len(rows) else ("", ""))


# On the typed table ------------------------------------------------------------------------------


def drop_sum_rows(typed: Any) -> None:
    """Remove a first or last row whose numbers are the sums of the other rows (in place)."""
    frame = typed.frame
    n = frame.rows
    if n < 12:
        return
    numeric = [(name, np.asarray(a, dtype=np.float64)) for name, a in frame.items()
               if typed.info[name].kind == "numeric" and not hasattr(a, "categories") and
               np.asarray(a).dtype.kind in "fiu"]
    if not numeric:
        return
    for r in (n - 1, 0):
        sums = [name for name, v in numeric if _is_sum(v, r)]
        blank = sum(1 for name, v in numeric if np.isnan(v[r]))
        if len(sums) >= 2 or (len(sums) == 1 and blank >= 1):
            _drop_row(typed, r, sums)
            return


def _is_sum(v: np.ndarray, r: int) -> bool:
    x = v[r]
    others = np.delete(v, r)
    others = others[np.isfinite(others)]
    if not np.isfinite(x) or len(others) < 10 or x == 0:
        return False
    with np.errstate(all="ignore"):
        total = float(others.sum())
    if not np.isfinite(total):
        return False
    return abs(x - total) <= SUM_RTOL * abs(total) and abs(x) > np.abs(others).max()


def _drop_row(typed: Any, r: int, sums: list[str]) -> None:
    frame = typed.frame
    keep = np.ones(frame.rows, dtype=bool)
    keep[r] = False
    cols = {name: a[keep] for name, a in frame.items()}
    typed.frame = type(frame)(cols, frame.rows - 1)
    where = "the last data row" if r == frame.rows - 1 else "the first data row"
    typed.warnings.append(warning(
        "summary_rows", typed.display.show(sums[0]),
        f"{where} holds the sums of the other rows in {typed.display.many(sums)}: a total row, not a record. "
        "Left out of the profile and the models."))
    typed.meta["rows_dropped"] = typed.meta.get("rows_dropped", 0) + 1
