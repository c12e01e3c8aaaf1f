"""Loading and typing: limits, containers, encodings, dialects, malformed rows, types (in process)."""

from __future__ import annotations

import gzip
import zlib

import numpy as np
import pytest

from bot.config import Scope
from bot.errors import InputError, LimitExceeded, NotFound
from bot.scoping.common import Names
from bot.scoping.convert import convert_table, is_categorical, parse_formatted_number
from bot.scoping.load import inflate_gzip, load_table
from bot.scoping.profile import profile_table
from bot.scoping.target import build_target, choose_target

LIMITS = Scope()


def load(data: bytes | str, name: str = "upload.csv", limits: Scope = LIMITS):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return load_table(path=None, data=data, filename=name, limits=limits)


def typed(data: bytes | str, **kw):
    return convert_table(load(data, **kw), LIMITS)


def codes(warns):
    return [w["code"] for w in warns]


# Containers and limits -------------------------------------------------------------------------


def _member(size: int) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    return co.compress(b"0,0,0,0\n" * (size // 8)) + co.flush()


def test_gzip_cap_counts_every_member():
    mib = 1024 * 1024
    member = _member(2 * mib)
    bomb = _member(2 * mib) + member * 9  # 10 members, 20 MiB inflated, ~20 KB on disk
    cap = 8 * mib
    # one decompressobj stops after the first member and sees only 2 MiB, under the cap...
    d = zlib.decompressobj(31)
    assert len(d.decompress(bomb)) == 2 * mib < cap
    # ...and the ISIZE trailer describes one member only
    assert int.from_bytes(bomb[-4:], "little") == 2 * mib
    with pytest.raises(LimitExceeded, match="exceeds the limit"):
        inflate_gzip(bomb, cap)
    out, members = inflate_gzip(member * 3, cap)
    assert members == 3 and len(out) == 6 * mib


def test_gzip_ratio_cap_and_upload_size_cap():
    payload = gzip.compress(b"a,b,target\n" + b"1,2,3\n" * 3_000_000, mtime=0)  # ~18 MB of text, tiny gzip
    with pytest.raises(LimitExceeded) as err:
        load(payload, "x.csv.gz")
    assert "decompress" in str(err.value) and "limit" in str(err.value)
    small = Scope(max_file_mb=0.001)
    with pytest.raises(LimitExceeded, match="too large"):
        load("a,b\n" + "1,2\n" * 1000, limits=small)


def test_gzip_truncated_and_damaged():
    good = gzip.compress(b"a,b,target\n1,2,3\n" * 50, mtime=0)
    with pytest.raises(InputError, match="truncated"):
        load(good[:-20], "x.csv.gz")
    with pytest.raises(InputError, match="damaged"):
        load(good[:-8] + b"\x00\x00\x00\x00" + good[-4:], "x.csv.gz")  # wrong CRC


def test_header_width_is_checked_before_parsing():
    header = ",".join(f"c{j}" for j in range(20_000))
    with pytest.raises(LimitExceeded, match="too many columns"):
        load(header + "\n" + ",".join("1" * 20_000) + "\n")


@pytest.mark.parametrize("payload, words", [
    (b"\x89PNG\r\n\x1a\n" + bytes(64), ["png", "image"]),
    (b"PK\x03\x04" + b"\x00" * 26 + b"xl/workbook.xml", ["excel", "zip"]),
    (b"PK\x03\x04" + bytes(80), ["zip"]),
    (b"%PDF-1.7\n", ["pdf"]),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(40), ["excel"]),
    (b"  <!doctype html><html><body>login</body></html>", ["web page", "html"]),
    (b'{"rows": [1, 2]}', ["json"]),
    (bytes(range(256)) * 40, ["binary"]),
])
def test_binary_formats_are_refused_by_name(payload, words):
    with pytest.raises(InputError) as err:
        load(payload)
    assert any(w in str(err.value).lower() for w in words)


# Encodings -------------------------------------------------------------------------------------


def test_utf8_bom_is_stripped():
    t = load("\ufeffid,x,target\n1,2,a\n2,3,b\n")
    assert t.names[0] == "id"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_32_are_decoded_with_a_warning(encoding):
    text = "client,rate,target\n" + "Café Zürich,95.0,yes\nMüller,120.5,no\n" * 10
    t = load(text.encode(encoding))
    assert t.names == ["client", "rate", "target"] and t.rows == 20
    assert "encoding_detected" in codes(t.warnings)


def test_cp1252_fallback_warns_and_keeps_characters():
    text = "note,target\n" + "“quoted” – €5,a\nit’s €10,b\n" * 10
    t = typed(text.encode("cp1252"))
    w = [x for x in t.warnings if x["code"] == "encoding_fallback"]
    assert w and "cp1252" in w[0]["message"] and "line 2" in w[0]["message"]
    assert "“quoted” – €5" in list(t.frame["note"].categories)


def test_nul_bytes_removed_with_count_and_line():
    t = load("a,b,target\n1,2,x\n3,\x004,y\n" * 5)
    w = [x for x in t.warnings if x["code"] == "nul_bytes"]
    assert w and "5 NUL" in w[0]["message"] and "line 3" in w[0]["message"]


# Dialects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("sep, word", [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_delimiters_are_sniffed(sep, word):
    rows = [sep.join(["id", "price", "segment", "target"])] + [
        sep.join([str(i), f"{i * 1.5}", "a, b" if sep != "," else "ab", "yes" if i % 2 else "no"]) for i in range(30)]
    t = load("\n".join(rows) + "\n")
    assert len(t.names) == 4 and t.rows == 30
    w = [x for x in t.warnings if x["code"] == "delimiter_detected"]
    assert w and word in w[0]["message"].lower() or word == "pipe" and "pipes" in w[0]["message"]


def test_semicolon_decimal_comma_numbers():
    rows = "id;price_eur;target\n" + "".join(f"{i};{1000 + i * 37:,}.{i:02d};{'yes' if i % 3 else 'no'}\n"
                                            .replace(",", "X").replace(".", ",").replace("X", ".") for i in range(40))
    t = typed(rows)
    assert t.info["price_eur"].kind == "numeric"
    assert t.frame["price_eur"][1] == pytest.approx(1037.01)
    assert "numbers_as_text" in codes(t.warnings) and "delimiter_detected" in codes(t.warnings)


def test_preamble_is_skipped_and_named():
    text = "Quarterly export - ACME Corp\nGenerated: 2024-05-01\n\nid,x,target\n" + "".join(
        f"{i},{i * 2},{'a' if i % 2 else 'b'}\n" for i in range(30))
    t = load(text)
    assert t.names == ["id", "x", "target"] and t.rows == 30
    w = [x for x in t.warnings if x["code"] == "preamble_skipped"]
    assert w and "line 4" in w[0]["message"] and "ACME" not in w[0]["message"]


def test_preamble_padded_with_delimiters_is_still_skipped():
    # A spreadsheet saves its title lines padded to the table's width: 'Title,,,,' is no header.
    text = "Quarterly Sales Report - ACME Ltd,,,\nGenerated 2024-07-01,,,\n,,,\nid,x,region,target\n" + "".join(
        f"{i},{i * 2},{'north' if i % 3 else 'south'},{'a' if i % 2 else 'b'}\n" for i in range(30))
    t = load(text)
    assert t.names == ["id", "x", "region", "target"] and t.rows == 30
    assert "preamble_skipped" in codes(t.warnings)


def test_semicolon_file_with_decimal_commas_keeps_its_header():
    # Every data row has the same number of decimal commas, so ',' also splits the rows evenly;
    # the header (no commas) must not be skipped as a preamble.
    rows = "Datum;Temperatur;Feuchte;Verbrauch_kWh\n" + "".join(
        f"{1 + i % 28:02d}.01.2023;{i % 30},5;{40 + i % 50},3;1.{200 + i:03d},6\n" for i in range(60))
    t = typed(rows)
    assert list(t.frame.columns)[:4] == ["Datum", "Temperatur", "Feuchte", "Verbrauch_kWh"]
    assert t.info["Verbrauch_kWh"].kind == "numeric"
    assert t.frame["Verbrauch_kWh"][0] == pytest.approx(1200.6)
    assert "preamble_skipped" not in codes(t.warnings)


def test_quoted_newlines_header_and_cr_only():
    t = load('a,"multi\nline name",target\n1,"x\ny",a\n2,z,b\n')
    assert t.names[1] == "multi\nline name" and t.rows == 2
    t = load("id,x,target\r1,2,a\r3,4,b\r")
    assert t.rows == 2 and len(t.names) == 3


def test_ragged_rows_are_refused_with_line_numbers():
    lines = ["id,x,y,target"] + [f"{i},{i},{i},{'yes' if i % 2 else 'no'}" for i in range(1, 101)]
    lines[10] += ",EXTRA,FIELD"
    lines[50] += ",EXTRA,FIELD"
    lines[70] = "70,35.0"
    with pytest.raises(InputError) as err:
        load("\n".join(lines) + "\n")
    msg = str(err.value)
    assert "line 11" in msg and "line 51" in msg and "line 71" in msg and "expected 4 fields" in msg


def test_one_malformed_row_is_skipped_with_a_warning_after_quoted_newlines():
    body = "".join(f'{i},"note\n{i}",{"a" if i % 2 else "b"}\n' for i in range(150))
    t = load("id,note,target\n" + body + "7,8,x,EXTRA\n")
    w = [x for x in t.warnings if x["code"] == "malformed_rows"]
    assert t.rows == 150 and w and "line 302" in w[0]["message"]


def test_unterminated_quote_names_the_line():
    text = 'id,comment,target\n1,ok,yes\n2,"never closes,no\n' + "".join(f"{i},r,yes\n" for i in range(3, 50))
    with pytest.raises(InputError, match="line 3") as err:
        load(text)
    assert "quote" in str(err.value)


def test_duplicate_and_unnamed_columns():
    t = load("x,x,,Unnamed: 0,X,target\n" + "".join(f"{i},{i},{i},{i},{i},a\n" for i in range(5)))
    assert t.names == ["x", "x.1", "column_3", "Unnamed: 0", "X", "target"]
    assert {"duplicate_columns", "unnamed_columns"} <= set(codes(t.warnings))


def test_empty_inputs():
    with pytest.raises(InputError, match="empty"):
        load(b"")
    with pytest.raises(InputError, match="empty"):
        load("\n \n\t\n")
    with pytest.raises(InputError, match="0 rows"):
        load("a,b,target\n")


def test_row_cap_while_streaming():
    with pytest.raises(LimitExceeded, match="too many rows"):
        load("a,target\n" + "1,2\n" * 500, limits=Scope(max_rows=100))


# Types -----------------------------------------------------------------------------------------


def test_leading_zeros_mixed_types_and_counts():
    age = ["34", "41.0", "unknown", "", "N/A", "forty", "True", "29", "-1", "1e2"] * 6
    zips = ["00501", "02134", "90210", "10001", "07030"] * 12
    text = "age,zip,target\n" + "".join(f"{a},{z},{'yes' if i % 2 else 'no'}\n" for i, (a, z) in enumerate(zip(age, zips, strict=True)))
    t = typed(text)
    assert is_categorical(t.frame["zip"]) and t.frame["zip"][0] == "00501"
    info = t.info["age"]
    assert info.kind == "numeric" and info.non_numeric == 18 and info.extra["missing_in_file"] == 12
    w = [x for x in t.warnings if x["code"] == "mixed_types"][0]
    assert "18 of 60" in w["message"] and "`age`" in w["message"]


@pytest.mark.parametrize("text, value", [
    ("$1,234.56", 1234.56), ("€1.234,56", 1234.56), ("1 234", 1234), ("(1,200.00)", -1200.0), ("12%", 12.0),
    ("USD 99", 99.0), ("-$5", -5.0), ("£0.99", 0.99), ("1,000,000", 1_000_000), ("$50/hr", 50.0), ("N/A", None),
])
def test_formatted_numbers(text, value):
    got = parse_formatted_number(text)
    assert (np.isnan(got) if value is None else got == pytest.approx(value))


def test_infinite_and_overflow_values_are_counted():
    vals = ["inf", "-inf", "Infinity", "1e309", "-1e309", "NaN", "1.5", "", "3", "2"] * 5
    text = "ratio,huge,target\n" + "".join(f"{v},{1.5e308 if i < 10 else 1.0},{i * 0.5}\n" for i, v in enumerate(vals))
    t = typed(text)
    assert t.info["ratio"].infinite == 25
    found = codes(t.warnings)
    assert "infinite_values" in found and found.count("numeric_overflow") == 2
    assert not np.isinf(t.frame["ratio"]).any()


def test_dates_single_format_and_ambiguity():
    iso = "when,target\n" + "".join(f"2024-01-{d:02d} 10:00:00,{'a' if d % 2 else 'b'}\n" for d in range(1, 29))
    t = typed(iso)
    assert t.info["when"].kind == "datetime" and not codes(t.warnings)
    amb = "when,target\n" + "".join(f"{m:02d}/{d:02d}/2024,{'a' if d % 2 else 'b'}\n" for m in (1, 2) for d in range(1, 13))
    t = typed(amb)
    w = [x for x in t.warnings if x["code"] == "mixed_types"]
    assert t.info["when"].kind == "datetime" and w and "ambiguous" in w[0]["message"]


# Target -----------------------------------------------------------------------------------------


def _target(text: str, target: str | None, task: str = "auto"):
    t = typed(text)
    p = profile_table(t)
    name = choose_target(t.frame, p, t.display, target)
    return build_target(t.frame, p, t.display, name, task, LIMITS)


def test_target_inference_and_task():
    rows = "".join(f"{i * 0.1},{i % 3},{'a' if i % 2 else 'b'}\n" for i in range(60))
    assert _target("x,k,label\n" + rows, None).task == "binary"
    assert _target("x,k,label\n" + rows, "k").task == "multiclass"
    assert _target("x,k,label\n" + rows, "x").task == "regression"
    with pytest.raises(InputError, match="could be targets"):
        _target("x,k,other\n" + rows, None)
    with pytest.raises(InputError, match="2 classes"):
        _target("x,k,label\n" + rows, "k", task="binary")
    with pytest.raises(InputError, match="regression needs numbers"):
        _target("x,k,label\n" + rows, "label", task="regression")


def test_class_labels_spelt_several_ways_are_one_class_each():
    """A CRM export's "Yes", "yes ", "Y", "YES" and "No", "n" are two classes, not six: binary, with a
    warning naming the spellings merged; labels that differ in more than spelling stay apart."""
    spellings = ["Yes", "yes ", "Y", "YES", "No", "n", " no", "No"]
    rows = "".join(f"{i * 0.1},{spellings[i % 8]}\n" for i in range(80))
    t = _target("x,churned\n" + rows, "churned")
    assert t.task == "binary" and len(t.classes) == 2 and sum(t.counts) == 80
    assert str(t.classes[t.positive]).lower().startswith("y")
    merged = [w for w in t.warnings if w["code"] == "labels_merged"]
    assert merged and "2 classes" in merged[0]["message"], t.warnings
    rows = "".join(f"{i * 0.1},{['Yes', 'No', 'Maybe'][i % 3]}\n" for i in range(60))
    t = _target("x,answer\n" + rows, "answer")
    assert t.task == "multiclass" and len(t.classes) == 3 and not any(w["code"] == "labels_merged" for w in t.warnings)


def test_labels_that_combine_a_few_labels_are_said_to_look_multi_label():
    values = ["billing", "tech", "billing|urgent", "tech|urgent", "tech"]
    t = _target("x,tags\n" + "".join(f"{i * 0.1},{values[i % 5]}\n" for i in range(100)), "tags")
    warned = [w for w in t.warnings if w["code"] == "multi_label"]
    assert warned and "`urgent`" in warned[0]["message"] and t.task == "multiclass"
    cities = ['"Portland, OR"', '"Salem, OR"', "Boise"]
    t = _target("x,city\n" + "".join(f"{i * 0.1},{cities[i % 3]}\n" for i in range(90)), "city")
    assert not any(w["code"] == "multi_label" for w in t.warnings)


def test_an_outcome_written_as_unknown_is_no_class_to_predict():
    values = ["Yes", "No", "No", "Unknown", "Yes", "", "No", "yes"]
    t = _target("x,renewed\n" + "".join(f"{i * 0.1},{values[i % 8]}\n" for i in range(80)), "renewed")
    assert t.task == "binary" and sum(t.counts) == 60 and "Unknown" not in t.classes
    missing = [w["message"] for w in t.warnings if w["code"] == "missing_target"]
    assert len(missing) == 2 and any("`Unknown`" in m and "10 of 80" in m for m in missing), missing
    assert any("10 of 80" in m and "no target value" in m for m in missing)  # the empty cells, counted apart
    t = _target("x,status\n" + "".join(f"{i * 0.1},{['Known', 'Unknown'][i % 2]}\n" for i in range(40)), "status")
    assert t.task == "binary" and "Unknown" in t.classes  # no other two classes: it is a class


def test_a_regression_target_that_is_mostly_zero_is_called_zero_inflated():
    rows = "".join(f"{i},{0 if i % 10 < 6 else i * 1.5}\n" for i in range(100))
    t = _target("x,revenue\n" + rows, "revenue")
    assert t.task == "regression" and any(w["code"] == "zero_inflated" and "60 of 100" in w["message"]
                                          for w in t.warnings), t.warnings
    rows = "".join(f"{i},{0 if i % 10 < 2 else i * 1.5}\n" for i in range(100))
    assert not any(w["code"] == "zero_inflated" for w in _target("x,revenue\n" + rows, "revenue").warnings)


def test_target_not_found_lists_escaped_close_matches():
    t = typed("Target ,t\u0430rget,x\n" + "".join(f"a,b,{i}\n" for i in range(20)))
    p = profile_table(t)
    with pytest.raises(NotFound) as err:
        choose_target(t.frame, p, t.display, "target")
    msg = str(err.value)
    assert "'Target '" in msg and "t\\u0430rget" in msg and "\u0430" not in msg


def test_names_are_display_safe_and_unique():
    names = Names(["@everyone", "a\u200bb", "ab", "L" * 500, "=cmd()"])
    shown = [names.show(n) for n in ["@everyone", "a\u200bb", "ab", "L" * 500, "=cmd()"]]
    assert "@" not in shown[0] and shown[1] != shown[2] and len(shown[3]) <= 64 and shown[4].startswith("'")


def _dbase_like(records: int = 120, memo_breaks: int = 0) -> bytes:
    """A dBase-style table (binary header with NUL-padded field names, fixed-width text records)."""
    import struct

    fields = [("NAME", b"C", 30), ("CITY", b"C", 20), ("AMOUNT", b"N", 12), ("NOTE", b"C", 60)]
    reclen = 1 + sum(f[2] for f in fields)
    out = bytearray(struct.pack("<BBBBIHH20x", 3, 124, 1, 1, records, 32 + 32 * len(fields) + 1, reclen))
    for name, kind, width in fields:
        out += name.encode().ljust(11, b"\x00") + kind + b"\x00" * 4 + bytes([width, 0]) + b"\x00" * 14
    out += b"\r"
    for i in range(records):
        note = b"note, with commas" + (b"\n" if i < memo_breaks else b"")
        out += (b" " + f"Customer {i}, Ltd".encode().ljust(30) + b"Berlin".ljust(20) + str(i * 10.5).encode().rjust(12)
                + note.ljust(60))
    return bytes(out + b"\x1a")


@pytest.mark.parametrize("payload", [
    _dbase_like(),                                  # read as 0 data rows before
    _dbase_like(memo_breaks=4),                     # read as a handful of rows before ("need at least 10")
    b"a,b,target\n" + b"1,2,x\n" * 40 + b"\x00" * 4096,  # a copy cut short: zero-filled tail
])
def test_nul_bytes_of_binary_content_are_named(payload):
    """Issue 15: binary content with NUL bytes was parsed into a few rows and refused for its row count."""
    with pytest.raises(InputError) as err:
        load(payload)
    message = str(err.value)
    assert "NUL" in message and "binary" in message and "rows of data; need" not in message


def test_a_few_rows_left_after_removing_nul_bytes_names_the_nul_bytes():
    text = "id,comment,target\n" + "".join(f"{i},{'x' * 90}\x00{'y' * 40},{i % 2}\n" for i in range(4))
    with pytest.raises(InputError) as err:
        load(text)
    assert "NUL" in str(err.value) and "4 row" in str(err.value)
