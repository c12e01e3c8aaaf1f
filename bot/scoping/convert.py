"""Typed columns from text: numbers, numbers written as text, dates, categories.

Every column arrives as text (pyarrow strings), so the decisions are ours, not a parser's guess:
  - integers keep leading zeros as text when they look like codes (zip `00501` stays `00501`);
  - plain numbers are cast in C++ (`inf`, `1e309` become infinite values, counted and set missing);
  - text with currency symbols, thousands separators, decimal commas, percent or (negatives) is
    parsed into numbers with a `numbers_as_text` warning;
  - a mostly numeric column with some words is `mixed_types`: the words become missing;
  - date-like text is parsed with ONE format chosen on the data; mixed or ambiguous day/month
    formats are warned about, never guessed silently;
  - anything else is a category (pandas Categorical built from pyarrow's dictionary encoding).
Work on strings is done on the distinct values, then mapped back with the codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bot.scoping.common import Names, fmt_int, show_cell, warning
from bot.scoping.markers import STANDARD_SET, null_markers
from bot.scoping.parse import RawTable
from bot.scoping.tidy import drop_sum_rows, drop_text_rows

BULK_MIN_COLUMNS = 200
BULK_GROUP = 256
OVERFLOW_ABS = 1e150  # beyond this, squares overflow float64: capped for the models, warned
_INF_WORD = r"(?i)^[+-]?inf(inity)?$"
_LEADING_ZERO = r"^[+-]?0[0-9]"
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_FORMULA_START = r"^[=+\-@\t\r＠]"
_CURRENCY = "$€£¥₹₩₽₺₪฿¢"
_CURRENCY_CODES = r"(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|INR|CNY|SEK|NOK|DKK|PLN|BRL|MXN|ZAR)"
_FORMATTED = re.compile(
    r"^(?P<neg1>-)?\(?\s*(?P<neg2>-)?\s*(?:" + _CURRENCY_CODES + r"\s*)?[" + _CURRENCY + r"]?\s*(?P<neg3>-)?"
    r"(?P<num>\d[\d,.' \u00a0\u202f]*\d|\d)"
    r"\s*(?P<pct>%)?\s*(?:" + _CURRENCY_CODES + r"|[" + _CURRENCY + r"])?\s*(?:/\s*[A-Za-z]{1,6})?\s*\)?$")
_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_LIKE = [
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"),
    re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}(,?\s+\d{1,2}:\d{2}(:\d{2})?(\s*[AaPp][Mm])?)?$"),
    re.compile(r"^(\d{4}[/-](0?[1-9]|1[0-2])|(0?[1-9]|1[0-2])/\d{4})$"),  # a month: 2021-11, 11/2021
    re.compile(r"(?i)^(" + _MONTHS + r"\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+" + _MONTHS + r",?\s+\d{4})(\s+\d{1,2}:\d{2}(:\d{2})?)?$"),
]
DATE_FORMATS = [
    "ISO8601", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y", "%d/%m/%y", "%m/%d/%y",
    "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%b %d %Y",
    "%d-%b-%Y", "%d %b, %Y", "%Y-%m", "%Y/%m", "%m/%Y",
]
_DAY_FIRST = {"%d/%m/%Y": "%m/%d/%Y", "%d-%m-%Y": "%m-%d-%Y", "%d/%m/%y": "%m/%d/%y",
              "%d/%m/%Y %H:%M": "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M:%S": "%m/%d/%Y %H:%M:%S"}


@dataclass
class ColumnInfo:
    """What conversion learnt about one column (raw stats; display happens later)."""

    kind: str                     # numeric | string | datetime | empty
    rows: int
    missing: int
    nunique: int = 0
    non_numeric: int = 0          # words in a mixed column (set missing)
    infinite: int = 0
    overflow: int = 0
    formula: int = 0
    long_cells: int = 0
    max_len: int = 0
    mean_len: float = 0.0
    mean_words: float = 0.0
    integer: bool = False
    parsed: str | None = None     # numbers_as_text | mixed | date:<format>
    extra: dict[str, Any] = field(default_factory=dict)


class Table:
    """Typed columns by raw name, in file order. A column is a float64/int ndarray (numbers), a
    pandas Categorical (text) or a datetime64 ndarray (dates); NaN / -1 code / NaT when missing."""

    def __init__(self, columns: dict[str, Any], rows: int):
        self._cols = columns
        self.rows = rows

    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, len(self._cols)

    def __len__(self) -> int:
        return self.rows

    def __contains__(self, name: object) -> bool:
        return name in self._cols

    def __getitem__(self, name: str) -> Any:
        return self._cols[name]

    def items(self):
        return self._cols.items()


def is_categorical(a: Any) -> bool:
    return isinstance(a, pd.Categorical)


def is_datetime(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "M"


def as_float(a: Any) -> np.ndarray:
    """A numeric column as float64 (NaN for missing); no copy when it already is."""
    return np.asarray(a, dtype=np.float64)


def codes_of(a: pd.Categorical) -> np.ndarray:
    return np.asarray(a.codes)


@dataclass
class TypedTable:
    frame: Table
    info: dict[str, ColumnInfo]
    display: Names
    warnings: list[dict[str, Any]]
    meta: dict[str, Any]


def convert_table(raw: RawTable, limits: Any) -> TypedTable:
    """Typed columns from the parsed text, without the export's summary and repeated header rows."""
    drop_text_rows(raw)
    data: dict[str, Any] = {}
    infos: dict[str, ColumnInfo] = {}
    warns: list[dict[str, Any]] = list(raw.warnings)
    names = raw.display
    todo = list(range(len(raw.names)))
    if len(todo) > BULK_MIN_COLUMNS and raw.rows:
        todo = []
        for start in range(0, len(raw.names), BULK_GROUP):
            idx = list(range(start, min(start + BULK_GROUP, len(raw.names))))
            todo.extend(_bulk_numeric(raw, idx, data, infos, warns, limits))
    for i in todo:
        name = raw.names[i]
        col = raw.columns[i]
        raw.columns[i] = None  # free the text as we go
        series, info, col_warns = convert_column(col, name, names, limits)
        data[name] = series
        infos[name] = info
        warns.extend(col_warns)
        del col
    frame = Table({name: data[name] for name in raw.names}, raw.rows)
    typed = TypedTable(frame=frame, info=infos, display=names, warnings=warns, meta=dict(raw.info))
    drop_sum_rows(typed)
    return typed


def _bulk_numeric(raw: RawTable, idx: list[int], data: dict, infos: dict, warns: list, limits: Any) -> list[int]:
    """Wide tables: cast a group of columns in one C++ call; return the columns that need the slow path."""
    n = raw.rows
    cols = [raw.columns[i] for i in idx]
    joined = pa.chunked_array([chunk for col in cols for chunk in col.chunks], type=pa.string())
    joined = pc.if_else(pc.is_in(joined, value_set=STANDARD_SET), pa.scalar(None, pa.string()), joined)
    try:
        if pc.any(pc.match_substring_regex(joined, _LEADING_ZERO)).as_py():
            return idx
        values = pc.cast(joined, pa.float64()).to_numpy().reshape(len(idx), n)
        lengths = pc.utf8_length(joined).to_numpy(zero_copy_only=False).reshape(len(idx), n)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        return idx
    lengths = np.nan_to_num(lengths.astype("float64"), nan=0.0)
    for k, i in enumerate(idx):
        name = raw.names[i]
        v = values[k]
        missing = int(np.isnan(v).sum())
        if missing == n:
            data[name] = np.full(n, np.nan)
            infos[name] = ColumnInfo("empty", n, n)
            raw.columns[i] = None
            continue
        n_inf = int(np.isinf(v).sum())
        if n_inf or (np.abs(v[np.isfinite(v)]) >= OVERFLOW_ABS).any():
            continue  # rare: let the slow path count and word the warnings
        info = ColumnInfo("numeric", n, missing)
        finite = v[~np.isnan(v)]
        info.integer = bool(np.all(np.mod(finite, 1) == 0))
        info.max_len = int(lengths[k].max())
        info.mean_len = float(lengths[k].mean())
        data[name] = v
        infos[name] = info
        raw.columns[i] = None
    return [i for i in idx if raw.columns[i] is not None]


def convert_column(col: pa.ChunkedArray, name: str, names: Names, limits: Any):
    n = len(col)
    col, warns = null_markers(col, name, names)
    if col.null_count == n:
        return np.full(n, np.nan), ColumnInfo("empty", n, n), warns
    series, info = _as_number(col, n, col.null_count)  # fast path: the raw text casts as a whole
    if series is None:
        trimmed = pc.utf8_trim_whitespace(col)
        trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
        missing = int(trimmed.null_count)
        if missing == n:
            return np.full(n, np.nan), ColumnInfo("empty", n, n), warns
        series, info = _as_number(trimmed, n, missing)  # numbers padded with spaces
        if series is None:
            lengths = pc.utf8_length(col)
            max_len = int(pc.max(lengths).as_py() or 0)
            mean_len = float(pc.mean(lengths).as_py() or 0.0)
            long_cells = 0
            if max_len > limits.max_cell_chars:
                long_cells = int(pc.sum(pc.greater(lengths, limits.max_cell_chars)).as_py() or 0)
                warns.append(warning(
                    "long_cells", names.show(name),
                    f"{names.code(name)}: {fmt_int(long_cells)} cell(s) longer than {limits.max_cell_chars} characters "
                    f"(longest {fmt_int(max_len)}); kept for modelling, truncated in every output."))
            del lengths
            series, info, more = _from_text(col, trimmed, n, missing, name, names)
            warns.extend(more)
            info.max_len, info.mean_len, info.long_cells = max_len, mean_len, long_cells
    if info.kind == "numeric":
        warns.extend(_numeric_warnings(series, info, name, names))
        if info.infinite:
            v = as_float(series)
            series = np.where(np.isfinite(v), v, np.nan)
    return series, info, warns


def _as_number(text: pa.ChunkedArray, n: int, missing: int):
    """Every value is a plain number (C++ cast), else (None, None). Integers with leading zeros are
    codes (zip 00501) and stay text."""
    integer = False
    values = None
    head = text.slice(0, 2000)
    if _casts(head, pa.int64()) is not None or _casts(head, pa.float64()) is None:
        values = _casts(text, pa.int64())  # (a float-looking head skips this full pass)
    if values is not None:
        integer = True
        if pc.any(pc.match_substring_regex(text, _LEADING_ZERO)).as_py():
            return None, None
    else:
        values = _casts(text, pa.float64())
        if values is None:
            return None, None
    arr = values.to_numpy()
    series = _downcast_int(arr) if integer and missing == 0 else arr.astype("float64", copy=False)
    info = ColumnInfo("numeric", n, missing, integer=integer)
    if not integer:
        finite = np.isfinite(series)
        n_inf = int(np.isinf(series).sum())
        if n_inf:
            words = int(pc.sum(pc.match_substring_regex(text, _INF_WORD)).as_py() or 0)
            info.infinite = n_inf
            info.extra["overflow_literals"] = max(0, n_inf - words)
        info.integer = _all_integers(series[finite])
    return series, info


def _casts(text: Any, to: pa.DataType) -> Any:
    try:
        return pc.cast(text, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _all_integers(v: np.ndarray) -> bool:
    """Every value is a whole number (checked on a prefix first: most decimal columns fail there)."""
    if v.size == 0:
        return False
    head = v[:10_000]
    if not np.all(np.mod(head, 1) == 0):
        return False
    return bool(np.all(np.mod(v, 1) == 0))


def _downcast_int(arr: np.ndarray) -> np.ndarray:
    if arr.size == 0:
        return arr
    lo, hi = int(arr.min()), int(arr.max())
    for dt in (np.int8, np.int16, np.int32):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return arr.astype(dt)
    return arr


def _numeric_warnings(series: np.ndarray, info: ColumnInfo, name: str, names: Names) -> list[dict]:
    warns = []
    shown = names.show(name)
    values = as_float(series)
    if info.infinite:
        lit = info.extra.get("overflow_literals", 0)
        extra = f", of which {fmt_int(lit)} are numbers too large for float64 (such as 1e309)" if lit else ""
        warns.append(warning("infinite_values", shown,
                             f"{names.code(name)}: {fmt_int(info.infinite)} infinite value(s) (inf/-inf{extra}); "
                             "treated as missing for the baselines."))
    finite = values[np.isfinite(values)]
    big = int((np.abs(finite) >= OVERFLOW_ABS).sum()) if finite.size else 0
    lit = info.extra.get("overflow_literals", 0)
    if big or lit:
        info.overflow = big + lit
        parts = []
        if lit:
            parts.append(f"{fmt_int(lit)} written number(s) beyond float64's range (such as 1e309), read as infinite")
        if big:
            largest = float(np.abs(finite).max())
            parts.append(f"{fmt_int(big)} value(s) of magnitude {OVERFLOW_ABS:.0e} or more (largest {largest:.3g}) that "
                         f"overflow in arithmetic, capped at ±{OVERFLOW_ABS:.0e} for the baselines")
        warns.append(warning("numeric_overflow", shown,
                             f"{names.code(name)}: numeric overflow: " + "; ".join(parts) + ". Check the units or the export."))
    return warns


# Text columns --------------------------------------------------------------------------------


def _from_text(col, trimmed, n: int, missing: int, name: str, names: Names):
    warns: list[dict] = []
    shown = names.show(name)
    combined = trimmed.combine_chunks() if isinstance(trimmed, pa.ChunkedArray) else trimmed
    encoded = pc.dictionary_encode(combined)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    uniques = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques)) if len(uniques) else np.zeros(0, int)
    present = n - missing
    info = ColumnInfo("string", n, missing, nunique=len(uniques))
    info.formula = _formula_count(col)
    if info.formula:
        warns.append(warning("formula_cells", shown,
                             f"{names.code(name)}: {fmt_int(info.formula)} cell(s) start with =, +, -, @, tab or CR and "
                             "would run as spreadsheet formulas if exported; every output shows them with a leading quote."))
    plain = _parse_plain(uniques)
    plain_ok = ~np.isnan(plain)
    plain_share = counts[plain_ok].sum() / present if present else 0.0
    # Numbers written as text (currency, thousands, decimal comma, percent)
    formatted = None
    if plain_share < 0.95 and _looks_formatted(uniques, counts):
        formatted = _parse_formatted(uniques)
        fmt_ok = ~np.isnan(formatted)
        fmt_share = counts[fmt_ok].sum() / present
        if fmt_share >= 0.9 and (fmt_ok & ~plain_ok).any():
            values = _take(formatted, codes)
            bad = int(counts[~fmt_ok].sum())
            info = ColumnInfo("numeric", n, missing + bad, nunique=int(fmt_ok.sum()), parsed="numbers_as_text",
                              non_numeric=bad)
            warns = [w for w in warns if w["code"] != "formula_cells"]  # shown as numbers now, never as text
            info.integer = bool(np.all(np.mod(formatted[fmt_ok], 1) == 0))
            text_note = f"; {fmt_int(bad)} value(s) that are not numbers were set missing" if bad else ""
            warns.append(warning("numbers_as_text", shown,
                                 f"{names.code(name)}: numbers stored as text with currency symbols, thousands separators, "
                                 f"decimal commas or percent signs ({fmt_int(counts[fmt_ok & ~plain_ok].sum())} of "
                                 f"{fmt_int(present)} values); parsed into numeric values{text_note}."))
            return values, info, warns
    # Mostly numbers with some words: mixed types
    num_ok = plain_ok if formatted is None else (plain_ok | ~np.isnan(formatted))
    num_share = counts[num_ok].sum() / present if present else 0.0
    if num_share >= 0.5 and not num_ok.all():
        parsed = np.where(plain_ok, plain, formatted if formatted is not None else np.nan)
        values = _take(parsed, codes)
        words = int(counts[~num_ok].sum())
        examples = ", ".join(show_cell(u, 20) for u in _top(uniques[~num_ok], counts[~num_ok], 3))
        info = ColumnInfo("numeric", n, missing + words, nunique=int(num_ok.sum()), parsed="mixed",
                          non_numeric=words, formula=info.formula)
        info.extra["missing_in_file"] = missing
        info.integer = bool(np.all(np.mod(parsed[num_ok], 1) == 0))
        warns.append(warning("mixed_types", shown,
                             f"{names.code(name)}: mixed types: {fmt_int(words)} of {fmt_int(n)} values are non-numeric text "
                             f"(e.g. {examples}) in a numeric column, and {fmt_int(missing)} are missing; the text was "
                             "treated as missing."))
        finite = np.isfinite(values)
        info.infinite = int(np.isinf(values).sum())
        values = np.where(finite, values, np.nan)
        return values, info, warns
    # Dates
    date = _maybe_dates(uniques, counts, present)
    if date is not None:
        fmt, parsed, coverage, ambiguous, bad = date
        examples = ", ".join(show_cell(u, 24) for u in _examples_by_shape(uniques, counts))
        if coverage >= 0.5:
            values = _take_dates(parsed, codes)
            info = ColumnInfo("datetime", n, missing + bad, nunique=int((~pd.isna(parsed)).sum()),
                              parsed=f"date:{fmt}")
            info.non_numeric = bad
            if coverage < 0.98:
                warns.append(warning("mixed_types", shown,
                                     f"{names.code(name)}: mixed date formats (e.g. {examples}); {fmt_int(bad)} of "
                                     f"{fmt_int(present)} values could not be read with one format "
                                     f"({_fmt_label(fmt)}) and are treated as missing."
                                     + (" Day/month order is ambiguous: " + _ambiguity_note(fmt) if ambiguous else "")))
            elif ambiguous:
                warns.append(warning("mixed_types", shown,
                                     f"{names.code(name)}: ambiguous date format: values such as {examples} read equally "
                                     f"as day/month or month/day; {_ambiguity_note(fmt)}"))
            return values, info, warns
        warns.append(warning("mixed_types", shown,
                             f"{names.code(name)}: looks like dates in mixed or ambiguous formats (e.g. {examples}); no "
                             "single date format reads most values, so it is kept as text categories."))
    # Categories
    info.mean_words, info.extra["token_ratio"], info.extra["code_share"] = _word_stats(uniques, counts)
    categorical = pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object), validate=False)
    return categorical, info, warns


def _take(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    out = np.full(codes.shape[0], np.nan)
    ok = codes >= 0
    out[ok] = values[codes[ok]]
    return out


def _take_dates(parsed: pd.Series, codes: np.ndarray) -> np.ndarray:
    arr = pd.to_datetime(parsed).to_numpy(dtype="datetime64[ns]")
    out = np.full(codes.shape[0], np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = codes >= 0
    out[ok] = arr[codes[ok]]
    return out


def _top(values: np.ndarray, counts: np.ndarray, k: int) -> list:
    order = np.argsort(-counts, kind="stable")[:k]
    return [values[i] for i in order]


def _formula_count(col: pa.ChunkedArray) -> int:
    starts = pc.match_substring_regex(col, _FORMULA_START)
    if not pc.any(starts).as_py():
        return 0
    numeric = pc.match_substring_regex(pc.utf8_trim_whitespace(col), r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?%?$")
    return int(pc.sum(pc.and_(starts, pc.invert(numeric))).as_py() or 0)


def _parse_plain(uniques: np.ndarray) -> np.ndarray:
    if not len(uniques):
        return np.zeros(0)
    return pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _looks_formatted(uniques: np.ndarray, counts: np.ndarray) -> bool:
    sample = uniques[: 500]
    hits = sum(1 for u in sample if _FORMATTED.match(u) and not _PLAIN_NUMBER.match(u) and not _date_like(u))
    return hits >= max(1, 0.05 * len(sample)) and len(uniques) <= 500_000


def _parse_formatted(uniques: np.ndarray) -> np.ndarray:
    out = np.full(len(uniques), np.nan)
    decimal_comma = _decimal_comma_column(uniques)
    for i, u in enumerate(uniques):
        out[i] = np.nan if _date_like(u) else parse_formatted_number(u, decimal_comma)
    return out


def _date_like(text: str) -> bool:
    """27.11.2021 or 2021-11-27 is a date, never the number 27112021."""
    return any(p.match(text) for p in _DATE_LIKE)


def _decimal_comma_column(uniques: np.ndarray) -> bool:
    """A column uses decimal commas when values like 1.234,56 or 12,5 outnumber 1,234.56 or 1,234."""
    comma, point = 0, 0
    for u in uniques[:2000]:
        digits = re.sub(r"[^\d,.]", "", u)
        if re.search(r"\.\d{3},\d+$", digits) or re.fullmatch(r"\d+,\d{1,2}", digits):
            comma += 1
        elif re.search(r",\d{3}\.\d+$", digits) or re.fullmatch(r"\d{1,3}(,\d{3})+", digits):
            point += 1
    return comma > point


def parse_formatted_number(text: str, decimal_comma: bool = False) -> float:
    """'$1,234.56' -> 1234.56, '€1.234,56' -> 1234.56, '(1,200.00)' -> -1200, '12%' -> 12, 'N/A' -> nan."""
    m = _FORMATTED.match(text.strip())
    if not m:
        return np.nan
    num = re.sub(r"['\s\u00a0\u202f]", "", m.group("num"))
    if "," in num and "." in num:
        if num.rfind(",") > num.rfind("."):
            num = num.replace(".", "").replace(",", ".")
        else:
            num = num.replace(",", "")
    elif "," in num:
        if re.fullmatch(r"\d{1,3}(,\d{3})+", num) and not decimal_comma:
            num = num.replace(",", "")
        elif num.count(",") == 1:
            num = num.replace(",", ".")
        else:
            num = num.replace(",", "")
    elif "." in num and num.count(".") > 1 or "." in num and decimal_comma and re.fullmatch(r"\d{1,3}\.\d{3}", num):
        num = num.replace(".", "")
    try:
        value = float(num)
    except ValueError:
        return np.nan
    negative = bool(m.group("neg1") or m.group("neg2") or m.group("neg3"))
    if text.strip().startswith("(") and text.strip().endswith(")"):
        negative = True
    return -value if negative else value


# Dates -----------------------------------------------------------------------------------------


def _maybe_dates(uniques: np.ndarray, counts: np.ndarray, present: int):
    """(format, parsed uniques, coverage, ambiguous, unreadable count) for date-like columns, else None."""
    if not len(uniques):
        return None
    order = np.argsort(-counts, kind="stable")[:400]
    sample = uniques[order]
    weights = counts[order]
    like = np.array([any(p.match(s) for p in _DATE_LIKE) for s in sample])
    if weights[like].sum() < 0.6 * weights.sum():
        return None
    best = None
    scores: dict[str, float] = {}
    for fmt in DATE_FORMATS:
        parsed = _to_datetime(sample, fmt)
        share = weights[~pd.isna(parsed)].sum() / weights.sum()
        scores[fmt] = share
        if best is None or share > best[1]:
            best = (fmt, share)
    fmt = best[0]
    if best[1] == 0:
        return None
    twin = _DAY_FIRST.get(fmt) or next((k for k, v in _DAY_FIRST.items() if v == fmt), None)
    ambiguous = False
    if twin and scores.get(twin, 0) >= best[1] - 0.02:
        a = _to_datetime(sample, fmt)
        b = _to_datetime(sample, twin)
        both = ~pd.isna(a) & ~pd.isna(b)
        ambiguous = bool((a[both] != b[both]).any())
    parsed_all = _to_datetime(uniques, fmt)
    ok = ~pd.isna(parsed_all)
    coverage = counts[ok].sum() / present if present else 0.0
    bad = int(counts[~ok].sum())
    return fmt, parsed_all, float(coverage), ambiguous, bad


def _to_datetime(values: np.ndarray, fmt: str) -> pd.Series:
    s = pd.Series(values, dtype=object)
    try:
        out = pd.to_datetime(s, format=fmt, errors="coerce", utc=fmt == "ISO8601")
    except (ValueError, TypeError, OverflowError):
        return pd.Series(pd.NaT, index=s.index)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert(None)
    return out


def _examples_by_shape(uniques: np.ndarray, counts: np.ndarray, k: int = 3) -> list:
    seen: dict[str, Any] = {}
    for i in np.argsort(-counts, kind="stable")[:200]:
        u = uniques[i]
        shape = re.sub(r"[A-Za-z]+", "a", re.sub(r"\d+", "9", u))
        seen.setdefault(shape, u)
        if len(seen) >= k:
            break
    return list(seen.values())


def _fmt_label(fmt: str) -> str:
    if fmt == "ISO8601":
        return "YYYY-MM-DD"
    return fmt.replace("%Y", "YYYY").replace("%y", "YY").replace("%m", "MM").replace("%d", "DD").replace(
        "%H", "hh").replace("%M", "mm").replace("%S", "ss").replace("%b", "Mon").replace("%B", "Month")


def _ambiguity_note(fmt: str) -> str:
    return f"read as {_fmt_label(fmt)}; check that this is the order the export uses."


_HAS_DIGIT = re.compile(r"\d")
_CODE_SHAPE = re.compile(r"^([A-Za-z]{1,5}[-_ /#.]?\d{2,}[A-Za-z]?|[0-9a-fA-F]{8,}|"
                         r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")


def _word_stats(uniques: np.ndarray, counts: np.ndarray) -> tuple[float, float, float]:
    """On a sample of the distinct values: mean words per value, distinct words per distinct value
    (below 1 when values are built from a shared vocabulary, as sentences and titles are), and the
    share of values shaped like codes (CR-1000, U100234, a hex hash).

    The vocabulary leaves out tokens with a digit when the values still take several forms without them:
    a ticket number in every subject ("refund #1234", "login error #1235") makes each value unique without
    making the subjects codes, while "Order 1234", "Order 1235" are one form and keep their numbers (an ID)."""
    if not len(uniques):
        return 0.0, 0.0, 0.0
    order = np.argsort(-counts, kind="stable")[:300]
    pick = uniques[order] if len(uniques) > 300 else uniques
    rng = np.random.default_rng(0)
    if len(uniques) > 300:
        pick = np.concatenate([pick, uniques[rng.choice(len(uniques), 300, replace=False)]])
    words = [str(u).lower().split() for u in pick]
    plain = [tuple(w for w in ws if not _HAS_DIGIT.search(w)) for ws in words]
    if len(set(plain)) < 2:
        plain = [tuple(ws) for ws in words]
    vocabulary = {w for ws in plain for w in ws}
    distinct = len(set(pick.tolist()))
    codes = sum(1 for u in pick if _CODE_SHAPE.match(str(u)))
    return (float(np.mean([len(ws) for ws in words])), len(vocabulary) / max(distinct, 1), codes / len(pick))
