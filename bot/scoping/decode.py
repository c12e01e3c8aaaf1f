"""Bytes -> text, the first half of loading: what reaches the CSV parser is UTF-8 text.

Each step guards the next:
  1. size cap on the file as given;
  2. gzip (by content, not by name) is inflated as a stream with a hard cap counted across ALL
     members (a multi-member bomb cannot hide behind its first member or its ISIZE trailer);
  3. magic bytes: images, archives, Office files, HTML, JSON are refused by name, never parsed;
  4. encoding: UTF-8 (BOM stripped), UTF-16/32 by BOM or NUL pattern, else a cp1252 / latin-1
     fallback with a warning;
  5. binary content: many control bytes, NUL bytes in the header line or in runs (the padding of
     database, spreadsheet and program files) are refused by name; a few stray NUL bytes in text
     are removed with a warning.
Nothing here echoes file content into a message.
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import InputError, LimitExceeded
from bot.scoping.common import fmt_bytes, fmt_int, warning

MB = 1024 * 1024
RATIO_FLOOR_BYTES = 1 * MB  # the compression-ratio cap never bites below this inflated size
NUL_RUN = 8                 # this many NUL bytes in a row is binary padding, never text
_NUL_RUN = re.compile(rb"\x00{%d,}" % NUL_RUN)

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
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27))


@dataclass
class Text:
    """The file as UTF-8 bytes (no BOM, no NUL), with what decoding found out."""

    data: bytes
    info: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def read_text(*, path: str | None, data: bytes | None, filename: str, limits: Any) -> Text:
    """Read a CSV (or .csv.gz) from a path or bytes under `limits` and decode it to UTF-8."""
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
    text = _decode(raw, info, warns)
    return Text(text, info, warns)


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
        nul = raw[:65536].count(b"\x00")
        also = f", {fmt_int(nul)} of them NUL bytes (\\x00)" if nul else ""
        raise InputError(f"this looks like binary data (many control bytes in the first 64 KB{also}), not a CSV "
                         "text file.", hint="Export the table as CSV and upload that.")
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
    """Remove a few stray NUL bytes with a warning; refuse binary content that NUL bytes give away."""
    nul = raw.count(b"\x00")
    if not nul:
        return raw
    first = raw.find(b"\x00")
    first_line = raw.count(b"\n", 0, first) + 1
    why = _binary_nul_pattern(raw, nul)
    if why:
        raise InputError(
            f"the file contains {fmt_int(nul)} NUL byte(s) (\\x00), {why}: this is binary content, not CSV text "
            "(perhaps a database, spreadsheet or program file renamed to .csv, or a damaged copy).",
            hint="Export the table as CSV (UTF-8) and upload that.")
    info["nul_bytes"] = nul
    warns.append(warning("nul_bytes", None,
                         f"the file contains {fmt_int(nul)} NUL byte(s) (\\x00), the first on line {fmt_int(first_line)}; "
                         "they were removed. They often come from a broken export or a binary file."))
    return raw.replace(b"\x00", b"")


def _binary_nul_pattern(raw: bytes, nul: int) -> str | None:
    """Why these NUL bytes mean binary content (None for stray NULs in text)."""
    run = _NUL_RUN.search(raw)
    if run:
        line = raw.count(b"\n", 0, run.start()) + 1
        length = len(run.group())
        where = "at the end of the file" if run.end() == len(raw) else f"from line {fmt_int(line)}"
        return f"{fmt_int(length)} of them in a row {where}"
    first_line_end = raw.find(b"\n")
    if raw.find(b"\x00", 0, first_line_end if first_line_end >= 0 else len(raw)) >= 0:
        return "some in the first line, where the header belongs"
    head = raw[:65536]
    if head.count(b"\x00") > 0.1 * len(head) or _control_share(head) > 0.1:
        return "with many other control bytes in the first 64 KB"
    return None


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
