"""Safe loading: bytes -> a table of text columns, under the limits in `settings.scope`.

The order matters, each step guarding the next:
  1. size cap on the file as given;
  2. magic bytes: images, archives, Office files, HTML, JSON are refused by name, never parsed;
  3. gzip (by content, not by name) is inflated as a stream with a hard cap counted across ALL
     members (a multi-member bomb cannot hide behind its first member or its ISIZE trailer);
  4. encoding: UTF-8 (BOM stripped), UTF-16/32 by BOM or NUL pattern, else a cp1252 / latin-1
     fallback with a warning; stray NUL bytes are removed with a warning;
  5. the header line's field count is checked against the column cap before anything is parsed;
  6. delimiter (, ; TAB |) and preamble lines are sniffed on the head of the file;
  7. the body is parsed by pyarrow's CSV reader (C++, streaming, every column as text, a row cap
     while streaming); malformed rows are reported by line number, a few are skipped with a
     warning, more are refused.
Nothing here echoes cell content into a message; names are shown through `Names`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import InputError, LimitExceeded
from bot.scoping.common import Names, fmt_bytes, fmt_int, warning

MB = 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
HEAD_BYTES = 1 * MB
MAX_HEADER_LINE_BYTES = 64 * MB
RATIO_FLOOR_BYTES = 1 * MB  # the compression-ratio cap never bites below this inflated size
MAX_PREAMBLE_LINES = 30
# pandas' default missing-value markers (read_csv na_values)
NULL_VALUES = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
    "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]

_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel (.xls) or other Office file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"(\xb5/\xfd", "a zstd-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"PAR1", "a Parquet file"),
    (b"ARROW1", "an Arrow/Feather file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "a program (ELF binary)"),
    (b"MZ\x90\x00", "a Windows program"),
    (b"\x93NUMPY", "a NumPy array file"),
    (b"OggS", "an audio file"),
    (b"ID3", "an MP3 audio file"),
    (b"\x00\x00\x00\x18ftyp", "a video file"),
    (b"\x00\x00\x00\x20ftyp", "a video file"),
]
_HTML_TAG = re.compile(rb"<\s*(!doctype\s+html|html|head|body|script|div|table|meta|title|iframe|style)\b", re.I)
_JSON_START = re.compile(rb'\s*(\{\s*["}]|\[\s*[\[{"\d\]-])')
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27))


@dataclass
class RawTable:
    """Text columns as parsed, plus what loading found out."""

    names: list[str]                       # raw, unique (duplicates renamed x.1; blanks column_N)
    columns: list[Any]                     # pyarrow ChunkedArray of strings, one per name
    rows: int
    display: Names
    warnings: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


# Entry point ------------------------------------------------------------------------------


def load_table(*, path: str | None, data: bytes | None, filename: str, limits: Any) -> RawTable:
    """Read a CSV (or .csv.gz) from a path or bytes under `limits` (settings.scope)."""
    raw = _read_source(path, data, limits)
    info: dict[str, Any] = {"bytes": len(raw)}
    warns: list[dict[str, Any]] = []
    if not raw.strip():
        if not raw:
            raise InputError("the file is empty (0 bytes).", hint="Upload a CSV with a header row and data rows.")
        raise InputError("the file is empty: only blank lines, no columns and no data.",
                         hint="Upload a CSV with a header row and data rows.")
    raw = _maybe_inflate(raw, filename, limits, info, warns)
    _refuse_binary_formats(raw)
    text_bytes = _decode(raw, info, warns)
    del raw
    return _parse(text_bytes, limits, info, warns)


def _read_source(path: str | None, data: bytes | None, limits: Any) -> bytes:
    cap = int(limits.max_file_mb * MB)
    if data is not None:
        size = len(data)
    elif path is not None:
        try:
            size = Path(path).stat().st_size
        except OSError:
            raise InputError("the file cannot be read.", hint="Check the path and permissions.") from None
    else:
        raise InputError("give a CSV file to scope.")
    if size > cap:
        raise LimitExceeded(
            f"the file is too large: {fmt_bytes(size)}, over the size limit of {limits.max_file_mb:,.0f} MB.",
            hint="Upload a sample of the rows (for example the first 1,000,000) or a .csv.gz.")
    if data is not None:
        return data if isinstance(data, bytes) else bytes(data)
    try:
        return Path(path).read_bytes()
    except OSError:
        raise InputError("the file cannot be read.", hint="Check the path and permissions.") from None


# Containers and binary formats -------------------------------------------------------------


def _maybe_inflate(raw: bytes, filename: str, limits: Any, info: dict, warns: list) -> bytes:
    if not raw.startswith(b"\x1f\x8b"):
        return raw
    inflated, members = inflate_gzip(raw, _inflate_cap(len(raw), limits), limits)
    if inflated.startswith(b"\x1f\x8b"):
        raise InputError("the file is gzip-compressed twice.", hint="Decompress it and upload the .csv (or one .csv.gz).")
    named_gz = filename.lower().endswith((".gz", ".gzip"))
    how = "" if named_gz else " (the name does not say so)"
    warns.append(warning(
        "compressed_input", None,
        f"the file is gzip-compressed{how}: decompressed {fmt_bytes(len(raw))} to {fmt_bytes(len(inflated))}"
        + (f" from {members} gzip members" if members > 1 else "") + "."))
    info.update(compressed="gzip", compressed_bytes=len(raw), bytes=len(inflated), gzip_members=members)
    return inflated


def _inflate_cap(compressed: int, limits: Any) -> int:
    by_ratio = max(int(compressed * limits.max_compression_ratio), RATIO_FLOOR_BYTES)
    return min(int(limits.max_decompressed_mb * MB), by_ratio)


def inflate_gzip(data: bytes, cap: int, limits: Any | None = None, chunk: int = 1 * MB) -> tuple[bytes, int]:
    """Inflate every gzip member in `data`, raising LimitExceeded once the total passes `cap` bytes.

    Output is produced at most `chunk` bytes at a time, so memory never exceeds the cap by more
    than one chunk, however small the input.
    """
    out: list[bytes] = []
    total = 0
    pos = 0
    members = 0
    n = len(data)
    while pos < n:
        if data[pos:pos + 2] != b"\x1f\x8b":
            if not data[pos:].strip(b"\x00"):
                break  # zero padding after the last member
            if members:
                break  # trailing garbage after a complete member: ignore, like gzip -d
            raise InputError("the gzip data is damaged.", hint="Compress the CSV again, or upload it uncompressed.")
        members += 1
        d = zlib.decompressobj(31)
        i = pos
        while not d.eof:
            if i >= n:
                raise InputError("the gzip file is truncated (it ends in the middle of the data).",
                                 hint="Upload the complete file.")
            buf = data[i:i + chunk]
            i += len(buf)
            while True:
                try:
                    piece = d.decompress(buf, chunk)
                except zlib.error:
                    raise InputError("the gzip data is damaged.",
                                     hint="Compress the CSV again, or upload it uncompressed.") from None
                total += len(piece)
                if total > cap:
                    raise _too_big(cap, len(data), limits)
                out.append(piece)
                if d.eof:
                    break
                buf = d.unconsumed_tail
                if not buf and len(piece) < chunk:
                    break
        pos = i - len(d.unused_data)
    return b"".join(out), members


def _too_big(cap: int, compressed: int, limits: Any | None) -> LimitExceeded:
    detail = ""
    if limits is not None:
        detail = (f" (limits: {limits.max_decompressed_mb:,.0f} MB, and {limits.max_compression_ratio:,.0f} times"
                  f" the compressed size)")
    return LimitExceeded(
        f"the decompressed size exceeds the limit: {fmt_bytes(compressed)} of gzip inflates to more than "
        f"{fmt_bytes(cap)}{detail}.",
        hint="This looks like a decompression bomb or a very large export: upload a smaller sample.")


def _refuse_binary_formats(raw: bytes) -> None:
    head = raw[:4096]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            if "compressed" in what or "archive" in what:
                hint = "Only .csv and .csv.gz are accepted: decompress it and upload the CSV."
            else:
                hint = "Export the table as CSV (comma or semicolon separated) and upload that."
            raise InputError(f"this looks like {what} (binary data), not a CSV text file.", hint=hint)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        lowered = head.lower()
        if b"xl/" in lowered or b"[content_types].xml" in lowered and b"xl" in lowered:
            raise InputError("this looks like an Excel workbook (.xlsx, a ZIP archive, binary), not a CSV file.",
                             hint="In Excel use File > Save As > CSV UTF-8, then upload the .csv.")
        if b"opendocument" in lowered:
            raise InputError("this looks like a spreadsheet (OpenDocument .ods, a ZIP archive), not a CSV file.",
                             hint="Save the sheet as CSV and upload that.")
        raise InputError("this looks like a ZIP archive (binary), not a CSV file.",
                         hint="Unzip it and upload the CSV inside (or compress the CSV alone as .csv.gz).")
    text_head = _strip_bom(head).lstrip()
    if text_head.startswith(b"<") and (_HTML_TAG.search(head) or text_head.startswith(b"<?xml")):
        kind = "an XML document" if text_head.startswith(b"<?xml") and not _HTML_TAG.search(head) else "a web page (HTML)"
        raise InputError(
            f"this looks like {kind}, not a CSV table: perhaps a login or error page was saved instead of the export.",
            hint="Download the CSV again (check you are signed in) and upload the .csv file.")
    if _JSON_START.match(text_head):
        raise InputError("this looks like JSON, not a CSV table.",
                         hint="Convert it to CSV (one row per record, one column per field) and upload that.")


def _strip_bom(b: bytes) -> bytes:
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if b.startswith(bom):
            return b[len(bom):]
    return b


# Encoding -----------------------------------------------------------------------------------


def _decode(raw: bytes, info: dict, warns: list) -> bytes:
    """Return UTF-8 bytes without BOM or NUL bytes; record the encoding and warn when it was not UTF-8."""
    utf, bom = _unicode_by_bom(raw)
    if utf is None:
        utf = _utf16_by_pattern(raw[:8192])
    if utf is not None:
        try:
            text = raw[bom:].decode(utf)
        except UnicodeDecodeError:
            raise InputError(f"the file looks like {utf.upper()} text but does not decode as {utf.upper()}.",
                             hint="Save it again as CSV UTF-8 and upload that.") from None
        shown = utf.upper().replace("-LE", "").replace("-BE", "")
        info["encoding"] = utf
        warns.append(warning("encoding_detected", None,
                             f"the file is encoded as {shown}, not UTF-8; it was decoded as {shown} (encoding detected "
                             "from its byte order mark or byte pattern)."))
        out = text.encode("utf-8")
        return _strip_nul(out, warns, info)
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
        info["bom"] = True
    if _control_share(raw[:65536]) > 0.05:
        raise InputError("this looks like binary data (many control bytes), not a CSV text file.",
                         hint="Export the table as CSV and upload that.")
    raw = _strip_nul(raw, warns, info)
    bad_at = _first_invalid_utf8(raw)
    if bad_at is None:
        info.setdefault("encoding", "utf-8")
        return raw
    line = raw.count(b"\n", 0, bad_at) + 1
    bad_bytes, good_multibyte = _utf8_damage(raw)
    if good_multibyte >= 20 and bad_bytes * 20 <= good_multibyte:
        info["encoding"] = "utf-8 (with invalid bytes replaced)"
        warns.append(warning(
            "encoding_fallback", None,
            f"the file is mostly UTF-8 but has {fmt_int(bad_bytes)} invalid byte(s), the first on line {fmt_int(line)}; "
            "they were replaced with \ufffd. Check that encoding of the export."))
        return raw.decode("utf-8", errors="replace").encode("utf-8")
    try:
        text = raw.decode("cp1252")
        enc = "cp1252"
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        enc = "latin-1"
    info["encoding"] = enc
    label = "cp1252 (Windows Western European, a superset of latin-1)" if enc == "cp1252" else "latin-1 (ISO-8859-1)"
    warns.append(warning(
        "encoding_fallback", None,
        f"the file is not valid UTF-8 (first invalid byte on line {fmt_int(line)}); it was decoded as {label}. "
        "Check accented characters and symbols; save the export as CSV UTF-8 to be sure of the encoding."))
    return text.encode("utf-8")


def _unicode_by_bom(raw: bytes) -> tuple[str | None, int]:
    if raw.startswith(codecs.BOM_UTF32_LE) or raw.startswith(codecs.BOM_UTF32_BE):
        return "utf-32", 0
    if raw.startswith(codecs.BOM_UTF16_LE) or raw.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", 0
    return None, 0


def _utf16_by_pattern(head: bytes) -> str | None:
    """UTF-16 without a BOM: mostly-ASCII text has a NUL in every other byte."""
    if len(head) < 16:
        return None
    head = head[: len(head) - (len(head) % 2)]
    even, odd = head[0::2], head[1::2]
    z_even, z_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if z_odd > 0.7 and z_even < 0.1:
        return "utf-16-le"
    if z_even > 0.7 and z_odd < 0.1:
        return "utf-16-be"
    return None


def _strip_nul(raw: bytes, warns: list, info: dict) -> bytes:
    nul = raw.count(b"\x00")
    if not nul:
        return raw
    head = raw[:65536]
    if head.count(b"\x00") > 0.1 * len(head) or _control_share(head) > 0.1:
        raise InputError("this looks like binary data (many NUL and control bytes), not a CSV text file.",
                         hint="Export the table as CSV and upload that.")
    first_line = raw.count(b"\n", 0, raw.find(b"\x00")) + 1
    info["nul_bytes"] = nul
    warns.append(warning("nul_bytes", None,
                         f"the file contains {fmt_int(nul)} NUL byte(s) (\\x00), the first on line {fmt_int(first_line)}; "
                         "they were removed. They often come from a broken export or a binary file."))
    return raw.replace(b"\x00", b"")


def _control_share(head: bytes) -> float:
    if not head:
        return 0.0
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls / len(head)


def _first_invalid_utf8(raw: bytes, step: int = 8 * MB) -> int | None:
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    for start in range(0, len(raw), step):
        piece = raw[start:start + step]
        try:
            dec.decode(piece, final=start + step >= len(raw))
        except UnicodeDecodeError as exc:
            return start + max(exc.start, 0)
    return None


def _utf8_damage(raw: bytes) -> tuple[int, int]:
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 127) - bad
    return bad, good


# Parsing ------------------------------------------------------------------------------------


def _parse(data: bytes, limits: Any, info: dict, warns: list) -> RawTable:
    data = _normalise_cr(data, info)
    first_end = _line_end(data, 0)
    forced = None
    skipped_lines = 0
    excel_hint = re.fullmatch(rb"\s*sep=(.)\s*", data[:first_end][:16])
    if excel_hint and excel_hint.group(1).decode("latin-1") in DELIMITERS:
        forced = excel_hint.group(1).decode("latin-1")
        m = _LINE_BREAK.search(data, first_end)
        data = data[m.end() if m else len(data):]
        first_end = _line_end(data, 0)
        skipped_lines = 1
        warns.append(warning("preamble_skipped", None,
                             f"skipped Excel's `sep={forced}` hint line before the header; it set the delimiter."))
    _check_header_width(data[:first_end], limits)
    head = _head_text(data)
    dialect = sniff(head, limits, only=forced)
    info["delimiter"] = DELIMITER_NAMES[dialect.delimiter]
    if dialect.delimiter != ",":
        warns.append(warning("delimiter_detected", None,
                             f"columns are separated by {_delim_phrase(dialect.delimiter)}, not commas "
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


def _normalise_cr(data: bytes, info: dict) -> bytes:
    """Old Mac (CR-only) line endings become LF; files with any LF keep their bytes."""
    if b"\r" in data[:HEAD_BYTES] and b"\n" not in data[:HEAD_BYTES] and b"\n" not in data:
        info["line_endings"] = "CR"
        return data.replace(b"\r", b"\n")
    return data


def _line_end(data: bytes, start: int) -> int:
    m = _LINE_BREAK.search(data, start, start + MAX_HEADER_LINE_BYTES)
    return m.start() if m else min(len(data), start + MAX_HEADER_LINE_BYTES)


def _check_header_width(first_line: bytes, limits: Any) -> None:
    widest = max(first_line.count(d.encode()) for d in DELIMITERS) + 1
    if widest > limits.max_columns:
        raise LimitExceeded(
            f"too many columns: the header line has about {fmt_int(widest)} fields, over the limit of "
            f"{fmt_int(limits.max_columns)} columns.",
            hint="Select the columns you need (or transpose the table) and upload again.")


def _head_text(data: bytes) -> str:
    size = HEAD_BYTES
    first = _line_end(data, 0)
    size = max(size, min(first * 4, 16 * MB))
    chunk = data[:size]
    if len(data) > size:
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if cut > first:
            chunk = chunk[:cut + 1]
    return chunk.decode("utf-8", errors="ignore")


def _delim_phrase(d: str) -> str:
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
        score = (modal >= 2, header_fields == modal, round(consistency, 2), modal, -order)
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
    """Skip leading preamble records: ones with far fewer fields than the table has."""
    if modal < 2:
        return 0
    limit = max(1, modal // 2)
    for i, rec in enumerate(nonblank[:MAX_PREAMBLE_LINES + 1]):
        if rec[2] > limit:
            return i
    return 0


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
    for count, m in enumerate(_LINE_BREAK.finditer(data), start=1):
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
    for line in _LINE_BREAK.split(data):
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
        m = _LINE_BREAK.search(data, pos)
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
