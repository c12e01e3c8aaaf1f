"""Text -> dialect: the delimiter, the header line and any preamble, sniffed on the head of the file.

The delimiter (, ; TAB |) is the one whose records agree best on a field count; lines before the
header with far fewer fields (a title, an export note) are a preamble and are skipped. The header
line's width is checked against the column cap before anything else is parsed.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bot.errors import InputError, LimitExceeded
from bot.scoping.common import fmt_int

MB = 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
HEAD_BYTES = 1 * MB
MAX_HEADER_LINE_BYTES = 64 * MB
MAX_PREAMBLE_LINES = 30
LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def normalise_cr(data: bytes, info: dict) -> bytes:
    """Old Mac (CR-only) line endings become LF; files with any LF keep their bytes."""
    if b"\r" in data[:HEAD_BYTES] and b"\n" not in data[:HEAD_BYTES] and b"\n" not in data:
        info["line_endings"] = "CR"
        return data.replace(b"\r", b"\n")
    return data


def line_end(data: bytes, start: int) -> int:
    m = LINE_BREAK.search(data, start, start + MAX_HEADER_LINE_BYTES)
    return m.start() if m else min(len(data), start + MAX_HEADER_LINE_BYTES)


def check_header_width(first_line: bytes, limits: Any) -> None:
    widest = max(first_line.count(d.encode()) for d in DELIMITERS) + 1
    if widest > limits.max_columns:
        raise LimitExceeded(
            f"too many columns: the header line has about {fmt_int(widest)} fields, over the limit of "
            f"{fmt_int(limits.max_columns)} columns.",
            hint="Select the columns you need (or transpose the table) and upload again.")


def head_text(data: bytes) -> str:
    size = HEAD_BYTES
    first = line_end(data, 0)
    size = max(size, min(first * 4, 16 * MB))
    chunk = data[:size]
    if len(data) > size:
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if cut > first:
            chunk = chunk[:cut + 1]
    return chunk.decode("utf-8", errors="ignore")


def delim_phrase(d: str) -> str:
    return {";": "semicolons (;)", "\t": "tabs", "|": "pipes (|)", ",": "commas"}[d]


@dataclass
class Dialect:
    delimiter: str
    fields: int            # expected fields per row
    header: list[str]      # header fields as written
    header_line: int       # 1-based physical line of the header's start
    header_end_line: int   # physical lines consumed up to the end of the header record
    preamble: bool = False # non-blank lines before the header were skipped


def sniff(head: str, limits: Any, only: str | None = None) -> Dialect:
    """Choose the delimiter whose records agree best on a field count; find the header after any preamble."""
    csv.field_size_limit(1 << 30)
    best: tuple | None = None
    for order, delim in enumerate(DELIMITERS):
        if only is not None and delim != only:
            continue
        records = _records(head, delim)
        nonblank = [r for r in records if r[2] > 0]
        if not nonblank:
            continue
        counts = Counter(r[2] for r in nonblank[1:] or nonblank)
        modal, _ = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        header_idx = _header_index(nonblank, modal)
        after = nonblank[header_idx + 1:] or nonblank[header_idx:]
        consistency = sum(1 for r in after if r[2] == modal) / len(after)
        header_fields = nonblank[header_idx][2]
        # Ties go to the delimiter that reads the first line as the header: a ';' file whose decimal
        # commas give every data row the same comma count must not have its real header skipped as preamble.
        score = (modal >= 2, header_fields == modal, round(consistency, 2), -header_idx, modal, -order)
        if best is None or score > best[0]:
            best = (score, delim, records, nonblank, header_idx, modal)
    if best is None:
        raise InputError("the file is empty: no header and no data.", hint="Upload a CSV with a header row and data rows.")
    _, delim, records, nonblank, header_idx, modal = best
    start_line, end_line, nfields, fields = nonblank[header_idx]
    if nfields > limits.max_columns:
        raise LimitExceeded(f"too many columns: {fmt_int(nfields)}, over the limit of {fmt_int(limits.max_columns)} columns.",
                            hint="Select the columns you need and upload again.")
    expected = nfields
    if nfields < modal and header_idx + 1 < len(nonblank):
        expected = modal  # header shorter than the rows: the missing names are blank (unnamed) columns
        fields = fields + [""] * (modal - nfields)
    elif nfields > modal and all(not f.strip() for f in fields[modal:]) and modal >= 1:
        expected = modal  # trailing delimiters on the header line only
        fields = fields[:modal]
    return Dialect(delimiter=delim, fields=expected, header=fields, header_line=start_line, header_end_line=end_line,
                   preamble=header_idx > 0)


def _records(head: str, delim: str, limit: int = 200) -> list[tuple[int, int, int, list[str]]]:
    """(first line, last line, field count, fields) for the first records of the head text."""
    out = []
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delim)
    prev = 0
    try:
        for rec in reader:
            count = 0 if not rec or (len(rec) == 1 and not rec[0].strip()) else len(rec)
            out.append((prev + 1, reader.line_num, count, rec))
            prev = reader.line_num
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def _header_index(nonblank: list, modal: int) -> int:
    """Skip leading preamble records: ones with far fewer filled fields than the table has.

    Filled fields, not fields: a spreadsheet saves its title line padded with delimiters to the
    table's width ('Quarterly report,,,,,'), and a padded blank line (',,,,,') is no header either.
    """
    if modal < 2:
        return 0
    limit = max(1, modal // 2)
    for i, rec in enumerate(nonblank[:MAX_PREAMBLE_LINES + 1]):
        if sum(1 for f in rec[3] if f.strip()) > limit:
            return i
    return 0
