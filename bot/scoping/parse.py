"""Text -> table, the second half of loading: the header's names and the body parsed as text columns.

The body is parsed by pyarrow's CSV reader (C++, streaming, every column as text, a row cap while
streaming); only empty cells are missing here (markers such as NA, "-" or "n/a" are decided per
column when the columns are typed). Malformed rows are reported by line number, a few are skipped
with a warning, more are refused; a quote that never closes is refused by line.
Duplicate and blank column names are renamed, with warnings. Names are shown through `Names`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.errors import InputError, LimitExceeded
from bot.scoping.common import Names, fmt_int, warning
from bot.scoping.sniff import (
    DELIMITER_NAMES,
    DELIMITERS,
    LINE_BREAK,
    MB,
    check_header_width,
    delim_phrase,
    head_text,
    line_end,
    normalise_cr,
    sniff,
)

NULL_VALUES = [""]  # only empty cells; markers such as NA or "-" are decided per column (markers.py)


@dataclass
class RawTable:
    """Text columns as parsed, plus what loading found out."""

    names: list[str]                       # raw, unique (duplicates renamed x.1; blanks column_N)
    columns: list[Any]                     # pyarrow ChunkedArray of strings, one per name
    rows: int
    display: Names
    warnings: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def parse(data: bytes, limits: Any, info: dict, warns: list) -> RawTable:
    data = normalise_cr(data, info)
    first_end = line_end(data, 0)
    forced = None
    skipped_lines = 0
    excel_hint = re.fullmatch(rb"\s*sep=(.)\s*", data[:first_end][:16])
    if excel_hint and excel_hint.group(1).decode("latin-1") in DELIMITERS:
        forced = excel_hint.group(1).decode("latin-1")
        m = LINE_BREAK.search(data, first_end)
        data = data[m.end() if m else len(data):]
        first_end = line_end(data, 0)
        skipped_lines = 1
        warns.append(warning("preamble_skipped", None,
                             f"skipped Excel's `sep={forced}` hint line before the header; it set the delimiter."))
    check_header_width(data[:first_end], limits)
    head = head_text(data)
    dialect = sniff(head, limits, only=forced)
    info["delimiter"] = DELIMITER_NAMES[dialect.delimiter]
    if dialect.delimiter != ",":
        warns.append(warning("delimiter_detected", None,
                             f"columns are separated by {delim_phrase(dialect.delimiter)}, not commas "
                             "(delimiter detected from the first lines)."))
    if dialect.preamble:
        skipped = dialect.header_line - 1
        warns.append(warning("preamble_skipped", None,
                             f"skipped {skipped} line(s) before the header (a preamble such as a title or export note); "
                             f"the header was read from line {dialect.header_line + skipped_lines}."))
    names, name_warns, display = _column_names(dialect.header, dialect.fields)
    warns.extend(name_warns)
    body_start = _offset_after_lines(data, dialect.header_end_line)
    body = memoryview(data)[body_start:]
    if not data[body_start:body_start + 65536].strip() and not data[body_start:].strip():
        raise InputError("the file has a header but 0 rows of data (no data rows).",
                         hint="Upload a CSV with data rows under the header.")
    quotes = data.count(b'"', body_start)
    columns, rows, bad = _read_body(body, len(names), dialect.delimiter, limits, has_quotes=quotes > 0)
    _judge_bad_rows(bad, rows, len(names), dialect.header_end_line + skipped_lines, body, warns)
    if quotes % 2:
        _refuse_unclosed_quote(body, dialect.header_end_line + skipped_lines, dialect.delimiter)
    if rows == 0:
        raise InputError("the file has a header but 0 rows of data (no data rows).",
                         hint="Upload a CSV with data rows under the header.")
    info.update(header_line=dialect.header_line + skipped_lines, rows=rows, columns=len(names))
    return RawTable(names=names, columns=columns, rows=rows, display=display, warnings=warns, info=info)


def _column_names(header: list[str], width: int) -> tuple[list[str], list[dict], Names]:
    names: list[str] = []
    warns: list[dict] = []
    unnamed: list[int] = []
    index_like: list[int] = []
    for pos, raw in enumerate(header[:width], start=1):
        name = raw
        if not name.strip():
            name = f"column_{pos}"
            unnamed.append(pos)
        elif re.fullmatch(r"Unnamed: \d+", name.strip()):
            index_like.append(pos)
        names.append(name)
    seen: dict[str, int] = {}
    final: list[str] = []
    dups: list[tuple[str, str]] = []
    taken = set(names)
    for name in names:
        if name in seen:
            k = seen[name]
            new = f"{name}.{k}"
            while new in taken:
                k += 1
                new = f"{name}.{k}"
            seen[name] = k + 1
            taken.add(new)
            dups.append((name, new))
            final.append(new)
        else:
            seen[name] = 1
            final.append(name)
    display = Names(final)
    if dups:
        shown = ", ".join(f"{display.code(old)} -> {display.code(new)}" for old, new in dups[:5])
        more = f" and {len(dups) - 5} more" if len(dups) > 5 else ""
        warns.append(warning("duplicate_columns", display.show(dups[0][1]),
                             f"{len(dups)} duplicate column name(s) renamed: {shown}{more}. Check which one you meant."))
    folded: dict[str, list[str]] = {}
    for name in final:
        folded.setdefault(name.strip().casefold(), []).append(name)
    variants = [group for group in folded.values() if len(group) > 1 and len(set(group)) == len(group)]
    for group in variants[:5]:
        if any(g in {new for _, new in dups} for g in group):
            continue
        warns.append(warning("duplicate_columns", display.show(group[0]),
                             f"column names differ only by case or spaces: {display.many(group)}; "
                             "they are kept as separate (duplicate-looking) columns."))
    if unnamed or index_like:
        parts = []
        if unnamed:
            parts.append(f"{len(unnamed)} column(s) have no name in the header (unnamed; positions "
                         f"{', '.join(str(p) for p in unnamed[:10])}), named "
                         + ", ".join(display.code(final[p - 1]) for p in unnamed[:5]))
        if index_like:
            parts.append(f"{len(index_like)} column(s) named like a saved pandas index (`Unnamed: N`): "
                         + display.many([final[p - 1] for p in index_like]))
        first = (unnamed or index_like)[0]
        warns.append(warning("unnamed_columns", display.show(final[first - 1]), "; ".join(parts) + "."))
    return final, warns, display


def _offset_after_lines(data: bytes, lines: int) -> int:
    if lines <= 0:
        return 0
    for count, m in enumerate(LINE_BREAK.finditer(data), start=1):
        if count == lines:
            return m.end()
    return len(data)


@dataclass
class _BadRows:
    rows: list[tuple[int, int]] = field(default_factory=list)  # (record number in body, fields)
    count: int = 0
    blank: int = 0
    runaway: list[int] = field(default_factory=list)  # records that swallow many lines (open quote)


def _read_body(body: memoryview, width: int, delim: str, limits: Any, has_quotes: bool):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(width)]
    bad = _BadRows()

    def on_invalid(row) -> str:
        text = row.text or ""
        if not text.strip():
            bad.blank += 1
            return "skip"
        bad.count += 1
        if len(bad.rows) < 50:
            bad.rows.append((row.number or 0, row.actual_columns))
        if '"' in text and (text.count("\n") + text.count("\r")) >= 2 and len(bad.runaway) < 5:
            bad.runaway.append(row.number or 0)
        return "skip"

    block = 16 * MB
    while True:
        try:
            reader = pacsv.open_csv(
                pa.BufferReader(pa.py_buffer(body)),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=block),
                parse_options=pacsv.ParseOptions(delimiter=delim, quote_char='"', double_quote=True,
                                                 newlines_in_values=has_quotes, ignore_empty_lines=True,
                                                 invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                     null_values=NULL_VALUES, strings_can_be_null=True,
                                                     quoted_strings_can_be_null=True, check_utf8=True),
            )
            batches = []
            rows = 0
            for batch in reader:
                rows += batch.num_rows
                if rows > limits.max_rows:
                    raise LimitExceeded(
                        f"too many rows: more than {fmt_int(limits.max_rows)} (the row limit).",
                        hint="Upload a sample of the rows; scores from a few hundred thousand rows are usually enough to scope.")
                batches.append(batch)
            break
        except pa.ArrowInvalid as exc:
            msg = str(exc)
            if ("straddling" in msg or "block size" in msg.lower()) and block < 256 * MB:
                block *= 8
                bad.__init__()
                continue
            if "straddling" in msg or "block size" in msg.lower():
                raise LimitExceeded("a row of the file is too long to parse within the memory limit.",
                                    hint="Check for a broken quote or a huge cell; upload fewer columns or shorter cells.") from None
            if "UTF8" in msg or "utf8" in msg.lower():
                raise InputError("the file has text that is not valid in its encoding.",
                                 hint="Save it again as CSV UTF-8 and upload that.") from None
            raise InputError("the CSV could not be parsed (its structure is broken).",
                             hint="Open it in a spreadsheet, check the quoting and delimiters, and export it again.") from None
    if batches:
        table = pa.Table.from_batches(batches)
    else:
        table = pa.table({n: pa.array([], pa.string()) for n in names})
    del batches
    columns = [table.column(i) for i in range(width)]
    return columns, rows, bad


def _judge_bad_rows(bad: _BadRows, rows: int, width: int, header_end: int, body: memoryview, warns: list) -> None:
    if not bad.count:
        return
    wanted = sorted({n for n, _ in bad.rows} | set(bad.runaway))
    lines = _record_lines(body, wanted)

    def where(n: int) -> int:
        return header_end + lines.get(n, n)

    if bad.runaway:
        line = where(bad.runaway[0])
        raise InputError(
            f"line {fmt_int(line)} opens a quoted field that never closes (unterminated quote), so the rest of the file "
            "would be read as one cell.",
            hint=f"Fix the quote on line {fmt_int(line)} (close it, or double it as \"\" inside a quoted cell) and upload again.")
    details = ", ".join(f"line {fmt_int(where(n))} has {k} field{'s' if k != 1 else ''}" for n, k in bad.rows[:8])
    more = f" and {fmt_int(bad.count - 8)} more" if bad.count > 8 else ""
    allowed = min(1000, max(1, int(0.01 * (rows + bad.count))))
    if bad.count > allowed:
        raise InputError(
            f"{fmt_int(bad.count)} malformed row(s) do not match the header's {width} fields (expected {width} fields): "
            f"{details}{more}.",
            hint="Fix those lines (a stray delimiter, an unquoted comma inside a value, or a missing value) and upload again.")
    warns.append(warning(
        "malformed_rows", None,
        f"skipped {fmt_int(bad.count)} malformed row(s) that do not have the header's {width} fields (expected {width} "
        f"fields): {details}{more}."))


def _refuse_unclosed_quote(body: memoryview, header_end: int, delim: str) -> None:
    """An odd number of quote characters: find a quoted field (one that opens at the start of a
    field, as the parser reads it) that stays open to the end of the file across several lines."""
    data = bytes(body)
    d = delim.encode()
    in_quote = False
    opened = 0
    line_no = 0
    for line in LINE_BREAK.split(data):
        line_no += 1
        if not in_quote and b'"' not in line:
            continue
        i = 0
        while True:
            if not in_quote:
                p = line.find(b'"', i)
                while p != -1 and not (p == 0 or line[p - 1:p] == d):
                    p = line.find(b'"', p + 1)
                if p == -1:
                    break
                in_quote, opened, i = True, line_no, p + 1
            else:
                p = line.find(b'"', i)
                if p == -1:
                    break
                if line[p + 1:p + 2] == b'"':
                    i = p + 2
                    continue
                in_quote, i = False, p + 1
    if in_quote and line_no - opened >= 2:
        line = header_end + opened
        raise InputError(
            f"line {fmt_int(line)} opens a quoted field that never closes (unterminated quote), so the rest of the file "
            "would be read as one cell.",
            hint=f"Fix the quote on line {fmt_int(line)} (close it, or double it as \"\" inside a quoted cell) and upload again.")


def _record_lines(body: memoryview, wanted: list[int]) -> dict[int, int]:
    """Map pyarrow record numbers (1-based, blank lines not counted) to physical line numbers in `body`."""
    if not wanted:
        return {}
    target = set(wanted)
    last = max(wanted)
    found: dict[int, int] = {}
    record = 0
    in_quote = False
    line_no = 0
    data = bytes(body)
    pos = 0
    n = len(data)
    while pos < n and record <= last:
        m = LINE_BREAK.search(data, pos)
        end = m.start() if m else n
        nxt = m.end() if m else n
        line = data[pos:end]
        line_no += 1
        if not in_quote and line:
            record += 1
            if record in target:
                found[record] = line_no
        if line.count(b'"') % 2 == 1:
            in_quote = not in_quote
        pos = nxt
    return found
