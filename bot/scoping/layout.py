"""Layouts a client's spreadsheet often has that are not one row per case, read into the long form.

- **Wide periods**: one row per product (store, region ...) and one numeric column per period, the
  headers being the periods ("Jan 2021", "2021-02", "03/2021" ...). Read as one row per product and
  period: the other columns, a `period` date and a `value` (the target when none is named), so the
  forecasting frame sees a time index with one series per product.
- **Date parts**: the date split over integer columns named as year and month (or quarter or week, and
  optionally day), with no date column. Read as one `period` date column in their place, so the time
  index is found (and `month` is no "leak" of a seasonal target).
- **Dates as numbers**: a numeric column named as a date or time ("Date", "created_at", "ts") whose
  values are all Excel serial days (1970 to 2100) or Unix seconds or milliseconds: read as the dates they
  are, not as an identifier.

Each is said in a warning (`wide_layout`, `date_parts_combined`, `numeric_dates`). Only when the target is not named
or is not one of the columns read (a named target among the period columns keeps the file as it is).
How many period columns make a wide sheet is `scope.frames.wide_min_periods`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from bot.scoping.common import Names, fmt_int, warning
from bot.scoping.convert import ColumnInfo, Table, TypedTable, is_categorical, is_datetime

_HEADER_FORMATS = ("%Y-%m", "%Y/%m", "%m/%Y", "%m-%Y", "%m.%Y", "%b %Y", "%B %Y", "%b-%Y", "%B-%Y", "%b-%y", "%b %y",
                   "%b%y", "%Y%m", "%YM%m", "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%b-%Y",
                   "%d %b %Y", "%Y")
_YEAR = re.compile(r"(?i)^(year|yr|yyyy|jahr|ann[ée]e|anno|a[ñn]o|fiscal[ _]?year|fy)$")
_PARTS = {"month": re.compile(r"(?i)^(month|mon|mth|mm|monat|mois|mes|mese|month[ _]?(no|num|number))$"),
          "quarter": re.compile(r"(?i)^(quarter|qtr|q|quartal|trimestre)$"),
          "week": re.compile(r"(?i)^(week|wk|week[ _]?(no|num|number)|kw|semaine|iso[ _]?week)$")}
_DAY = re.compile(r"(?i)^(day|dd|tag|jour|d[ií]a|day[ _]?of[ _]?month)$")
_MONTH_NAMES = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                            "nov", "dec"), start=1)}


def reshape(typed: TypedTable, target: str | None, limits: Any) -> TypedTable:
    """The table in long form when it is a wide sheet of periods or splits its date into parts."""
    return _numeric_dates(_date_parts(_wide(typed, target, limits), target), target)


# Wide periods -----------------------------------------------------------------------------------


def header_period(name: str) -> pd.Timestamp | None:
    """The period a column header names ("Jan 2021", "2021-02", "Q" not), else None."""
    text = re.sub(r"\s+", " ", str(name)).strip()
    if not re.search(r"\d", text) or len(text) > 20:
        return None
    for fmt in _HEADER_FORMATS:
        if fmt == "%Y" and not re.fullmatch(r"(19|20)\d{2}", text):
            continue
        try:
            return pd.Timestamp(pd.to_datetime(text, format=fmt))
        except (ValueError, TypeError, OverflowError):
            continue
    return None


def _wide(typed: TypedTable, target: str | None, limits: Any) -> TypedTable:
    frame, info = typed.frame, typed.info
    periods = {c: p for c in frame.columns if (p := header_period(c)) is not None and info[c].kind == "numeric"}
    others = [c for c in frame.columns if c not in periods]
    if (len(periods) < limits.frames.wide_min_periods or len(periods) < len(others) or (target is not None)
            or len({p for p in periods.values()}) < len(periods) or any(is_datetime(frame[c]) for c in others)):
        return typed
    cols = sorted(periods, key=lambda c: periods[c])
    n, k = frame.rows, len(cols)
    if n * k > limits.max_rows:
        return typed
    values = np.column_stack([np.asarray(frame[c], dtype=np.float64) for c in cols]).reshape(-1)
    stamps = np.array([periods[c].to_datetime64() for c in cols], dtype="datetime64[ns]")
    out: dict[str, Any] = {}
    infos: dict[str, ColumnInfo] = {}
    for c in others:
        a = frame[c]
        if is_categorical(a):
            out[c] = pd.Categorical.from_codes(np.repeat(np.asarray(a.codes), k), categories=a.categories)
        else:
            out[c] = np.repeat(np.asarray(a), k)
        infos[c] = replace(info[c], rows=n * k, missing=info[c].missing * k)
    period, value = _free("period", out), _free("value", out)
    out[period] = np.tile(stamps, n)
    infos[period] = ColumnInfo("datetime", n * k, 0, nunique=k, parsed="date:header")
    out[value] = values
    finite = values[np.isfinite(values)]
    infos[value] = ColumnInfo("numeric", n * k, int(n * k - finite.size), nunique=int(np.unique(finite).size),
                              integer=bool(finite.size and np.all(finite == np.round(finite))))
    names = Names(list(out))
    gone = {typed.display.show(c) for c in cols}
    warns = [w for w in typed.warnings if w.get("column") not in gone]
    first, last = typed.display.code(cols[0]), typed.display.code(cols[-1])
    warns.append(warning("wide_layout", None,
                         f"wide layout: {fmt_int(k)} columns are periods ({first} to {last}), one row per series; "
                         f"read as one row per series and period ({names.code(period)}, {names.code(value)}): "
                         f"{fmt_int(n * k)} rows, {names.code(value)} the target. Name a target with --target to "
                         "keep the file as it is."))
    return TypedTable(frame=Table(out, n * k), info=infos, display=names, warnings=warns,
                      meta={**typed.meta, "wide_periods": k, "layout_target": value})


def _free(name: str, taken: dict[str, Any]) -> str:
    out, i = name, 1
    while out in taken:
        i += 1
        out = f"{name}_{i}"
    return out


# Date parts -------------------------------------------------------------------------------------


def _integers(a: Any, low: int, high: int) -> np.ndarray | None:
    """The column as integers when every present value is a whole number in [low, high]."""
    if is_categorical(a) or is_datetime(a):
        return None
    v = np.asarray(a, dtype=np.float64)
    ok = np.isfinite(v)
    if ok.mean() < 0.95 or not np.all(v[ok] == np.round(v[ok])) or v[ok].min() < low or v[ok].max() > high:
        return None
    return v


def _month_names(a: Any) -> np.ndarray | None:
    """A text column of month names ("Jan", "February") as month numbers."""
    if not is_categorical(a):
        return None
    lookup = [_MONTH_NAMES.get(str(c).strip().lower()[:3]) if len(str(c).strip()) >= 3 else None for c in a.categories]
    if any(m is None for m in lookup):
        return None
    codes = np.asarray(a.codes)
    return np.where(codes >= 0, np.asarray([m for m in lookup] + [0], dtype=np.float64)[codes], np.nan)


def _date_parts(typed: TypedTable, target: str | None) -> TypedTable:
    frame = typed.frame
    if any(is_datetime(frame[c]) for c in frame.columns):
        return typed
    names = [c for c in frame.columns if c != target]
    year = next((c for c in names if _YEAR.match(str(c).strip()) and _integers(frame[c], 1900, 2100) is not None), None)
    if year is None:
        return typed
    found = None
    for part, pattern in _PARTS.items():
        high = {"month": 12, "quarter": 4, "week": 53}[part]
        for c in names:
            if c != year and pattern.match(str(c).strip()):
                v = _integers(frame[c], 1, high)
                if v is None and part == "month":
                    v = _month_names(frame[c])
                if v is not None:
                    found = (part, c, v)
                    break
        if found:
            break
    if found is None:
        return typed
    part, col, v = found
    y = np.asarray(frame[year], dtype=np.float64)
    day_col = next((c for c in names if part == "month" and _DAY.match(str(c).strip())
                    and _integers(frame[c], 1, 31) is not None), None)
    stamps = _stamps(y, v, part, np.asarray(frame[day_col], dtype=np.float64) if day_col else None)
    if stamps is None:
        return typed
    parts = [year, col] + ([day_col] if day_col else [])
    out: dict[str, Any] = {}
    infos: dict[str, ColumnInfo] = {}
    period = _free("period", {c: None for c in frame.columns})
    for c in frame.columns:
        if c == parts[0]:
            out[period] = stamps
            infos[period] = ColumnInfo("datetime", frame.rows, int(np.isnat(stamps).sum()),
                                       nunique=int(np.unique(stamps[~np.isnat(stamps)]).size), parsed="date:parts")
        if c not in parts:
            out[c], infos[c] = frame[c], typed.info[c]
    display = Names(list(out))
    shown = {typed.display.show(c) for c in parts}
    warns = [w for w in typed.warnings if w.get("column") not in shown]
    warns.append(warning("date_parts_combined", display.show(period),
                         f"the date is split over {typed.display.many(parts, 3)}: read as one date column "
                         f"{display.code(period)} in their place, so the rows have a time order."))
    return TypedTable(frame=Table(out, frame.rows), info=infos, display=display, warnings=warns, meta=typed.meta)


def _stamps(y: np.ndarray, v: np.ndarray, part: str, day: np.ndarray | None) -> np.ndarray | None:
    ok = np.isfinite(y) & np.isfinite(v)
    if day is not None:
        ok &= np.isfinite(day)
    out = np.full(len(y), np.datetime64("NaT"), dtype="datetime64[ns]")
    yy, vv = y[ok].astype(int), v[ok].astype(int)
    if part == "month":
        dd = day[ok].astype(int) if day is not None else np.ones_like(yy)
        text = pd.Series([f"{a:04d}-{b:02d}-{c:02d}" for a, b, c in zip(yy, vv, dd, strict=True)])
        parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    elif part == "quarter":
        parsed = pd.to_datetime(pd.Series([f"{a:04d}-{3 * b - 2:02d}-01" for a, b in zip(yy, vv, strict=True)]),
                                format="%Y-%m-%d", errors="coerce")
    else:
        parsed = pd.to_datetime(pd.Series([f"{a:04d}-W{b:02d}-1" for a, b in zip(yy, vv, strict=True)]),
                                format="%G-W%V-%u", errors="coerce")
    if parsed.isna().mean() > 0.05:
        return None
    out[ok] = parsed.to_numpy(dtype="datetime64[ns]")
    return out


# Dates as numbers -------------------------------------------------------------------------------

_DATE_NAME = re.compile(r"(?i)(^|[_\s.-])(date|time|timestamp|ts|dt|datetime|datum|fecha|day|created|updated|modified|"
                        r"occurred|posted|logged)([_\s.-]|$)|[_\s](at|on)$|^(created|updated|modified)(at|on)?$")
_EPOCHS = (  # (name, low, high, unit, origin): present values all in [low, high]
    ("Excel serial days", 25_569, 73_051, "D", "1899-12-30"),
    ("Unix seconds", 5e8, 4.1e9, "s", "unix"),
    ("Unix milliseconds", 5e11, 4.1e12, "ms", "unix"),
)


def _numeric_dates(typed: TypedTable, target: str | None) -> TypedTable:
    frame = typed.frame
    found: dict[str, tuple[np.ndarray, str]] = {}
    for c in frame.columns:
        a = frame[c]
        if c == target or is_categorical(a) or is_datetime(a) or not _DATE_NAME.search(str(c).strip()):
            continue
        v = np.asarray(a, dtype=np.float64)
        ok = np.isfinite(v)
        if ok.sum() < 20 or np.unique(v[ok]).size < 10:
            continue
        for label, low, high, unit, origin in _EPOCHS:
            if v[ok].min() >= low and v[ok].max() <= high:
                stamps = np.full(len(v), np.datetime64("NaT"), dtype="datetime64[ns]")
                stamps[ok] = pd.to_datetime(v[ok], unit=unit, origin=origin).to_numpy(dtype="datetime64[ns]")
                found[c] = (stamps, label)
                break
    if not found:
        return typed
    out = {c: (found[c][0] if c in found else frame[c]) for c in frame.columns}
    infos = dict(typed.info)
    warns = [w for w in typed.warnings if w.get("column") not in {typed.display.show(c) for c in found}]
    for c, (stamps, label) in found.items():
        ok = ~np.isnat(stamps)
        infos[c] = ColumnInfo("datetime", frame.rows, int((~ok).sum()), nunique=int(np.unique(stamps[ok]).size),
                              parsed="date:number")
        first, last = (str(np.datetime_as_string(x, unit="D")) for x in (stamps[ok].min(), stamps[ok].max()))
        warns.append(warning("numeric_dates", typed.display.show(c),
                             f"{typed.display.code(c)} holds dates written as numbers ({label}): read as the dates "
                             f"{first} to {last}. If it is a plain number, rename the column."))
    return TypedTable(frame=Table(out, frame.rows), info=infos, display=typed.display, warnings=warns, meta=typed.meta)
