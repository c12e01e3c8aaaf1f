"""Helpers for the scoping tests: the shared hostile corpus, our own hostile cases (the ones the
generator defines but does not add, and more), and checks that nothing unsafe reaches an output.
"""

from __future__ import annotations

import codecs
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

GENERATOR_CANDIDATES = [
    Path(__file__).resolve().parents[2] / "shared" / "badcsv" / "make_bad_csvs.py",
    Path(__file__).resolve().parent / "data" / "make_bad_csvs.py",  # vendored: CI runs on a clean clone
]


def generator() -> Path | None:
    for p in GENERATOR_CANDIDATES:
        if p.is_file():
            return p
    return None


def make_corpus(outdir: Path) -> list[dict[str, Any]]:
    gen = generator()
    assert gen is not None, "make_bad_csvs.py not found beside the repository (shared/badcsv)"
    subprocess.run([sys.executable, str(gen), str(outdir)], check=True, capture_output=True, timeout=300)
    return json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))["cases"]


def _csv(df: pd.DataFrame, **kw) -> str:
    kw.setdefault("index", False)
    kw.setdefault("lineterminator", "\n")
    return df.to_csv(**kw)


def small_df(rng: np.random.Generator, n: int = 60) -> pd.DataFrame:
    return pd.DataFrame({
        "feature_a": rng.normal(size=n).round(4),
        "feature_b": rng.integers(0, 100, size=n),
        "segment": rng.choice(["smb", "mid", "enterprise"], size=n),
        "target": rng.choice(["yes", "no"], size=n),
    })


def extra_cases(outdir: Path) -> list[dict[str, Any]]:
    """Hostile files beyond the manifest, each with the same contract fields as the manifest."""
    outdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    cases: list[dict[str, Any]] = []

    def add(name: str, payload: bytes | str, expect: str, mention=(), no_echo=(), target: str | None = "target",
            checks: dict | None = None) -> None:
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        (outdir / name).write_bytes(data)
        cases.append({"file": name, "expect": expect, "must_mention_any": list(mention), "must_not_echo": list(no_echo),
                      "target": target, "checks": checks or {}})

    html = ("<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>\n"
            "<body><h1>Access denied</h1><p>Please sign in, to continue.</p>\n"
            "<script>alert(1)</script></body></html>\n")
    add("html_error_page.csv", html, "reject", ["html", "web page"], ["<script>"])
    uq = "id,comment,target\n1,fine,yes\n2,also fine,no\n3,\"this quote never closes,yes\n" + "".join(
        f"{i},row {i},{'yes' if i % 2 else 'no'}\n" for i in range(4, 200))
    add("unterminated_quote.csv", uq, "reject", ["quote", "line 4"])
    cr = "id,x,target\r" + "".join(f"{i},{(i * 7) % 13},{'a' if i % 2 else 'b'}\r" for i in range(1, 31))
    add("cr_only_line_endings.csv", cr, "accept", checks={"n_rows": 30, "n_cols": 3})
    pre = "Quarterly export - ACME Corp\nGenerated: 2024-05-01 by finance-bot\n\n" + _csv(small_df(rng, 40))
    add("preamble_lines.csv", pre, "warn", ["preamble", "skipped"], ["ACME", "finance-bot"], checks={"n_rows": 40})
    un = ",Unnamed: 0,,score,target\n" + "".join(
        f"{i},{i},{i % 2},{(i * 37) % 11 * 1.5},{'yes' if i % 3 else 'no'}\n" for i in range(40))
    add("unnamed_columns.csv", un, "warn", ["unnamed", "no name"], checks={"n_cols": 5})
    ov = pd.DataFrame({"huge": [1.5e308] * 10 + [1.0] * 10, "neg": [-1.7e308] * 20, "x": rng.normal(size=20).round(3),
                       "target": ["a", "b"] * 10})
    add("numeric_overflow.csv", _csv(ov), "warn", ["overflow", "too large"])
    base = pd.Timestamp("2024-01-01")
    stamps = [base + pd.Timedelta(hours=h) for h in range(100)]
    stamps = stamps + stamps[10:30]
    order = rng.permutation(len(stamps))
    ts = pd.DataFrame({"timestamp": [stamps[k].strftime("%Y-%m-%d %H:%M:%S") for k in order],
                       "load_kw": rng.normal(100, 10, size=len(stamps)).round(2)})
    ts["target"] = (ts["load_kw"] + rng.normal(0, 8, len(ts)) > 100).map({True: "high", False: "low"})
    add("timestamps_dup_unsorted.csv", _csv(ts), "warn", ["duplicate timestamps", "not sorted"])
    uni = pd.DataFrame({
        "t\u0430rget": ["yes", "no"] * 15, "amount\u202egpj.exe": [1.0, 2.0, 3.0] * 10,
        "zero\u200bwidth": [1, 2, 3, 4, 5, 6] * 5, "emoji_\U0001F4B0": [7] * 30,
        "z\u0336\u0334\u0335a\u0337\u0338lgo": ["x"] * 30, "L" * 10_000: [0] * 30,
    })
    no_echo = ["\u202e", "\u200b", "L" * 65, "\u0336\u0334\u0335"]
    add("unicode_names.csv", _csv(uni), "reject", ["not found", "t\\u0430rget"], no_echo)
    add("unicode_names_homoglyph_target.csv", _csv(uni), "accept", (), no_echo, target="t\u0430rget")
    mt = pd.DataFrame({"cost_$_usd_$": rng.normal(size=30).round(2), "$\\undefinedmacro$": rng.integers(0, 9, 30),
                       "$" + "{" * 50 + "$": rng.normal(size=30).round(3), "price $1,234 and $5": rng.integers(0, 9, 30),
                       "target": ["yes", "no", "yes"] * 10})
    add("mathtext_names.csv", _csv(mt), "accept")
    words = ["client", "wants", "a", "dashboard", "model", "quickly", "budget", "unclear", "needs", "cleanup"]
    tt = small_df(rng, 200)
    tt["target"] = [" ".join(rng.choice(words, size=int(rng.integers(5, 14)))) + f" (#{i})" for i in range(200)]
    add("free_text_target.csv", _csv(tt), "reject", ["free text"])
    cp = pd.DataFrame({"note": ["\u201cquoted\u201d \u2013 \u20ac5", "it\u2019s \u20ac10"] * 15,
                       "x": rng.normal(size=30).round(3), "target": ["a", "b", "b"] * 10})
    add("cp1252_smart_quotes.csv", _csv(cp).encode("cp1252"), "warn", ["cp1252", "encoding"])
    # our own
    add("utf16_no_bom.csv", _csv(small_df(rng, 30)).encode("utf-16-le"), "warn", ["utf-16"], checks={"n_rows": 30})
    add("utf16be_bom.csv", codecs.BOM_UTF16_BE + _csv(small_df(rng, 30)).encode("utf-16-be"), "warn", ["utf-16"],
        checks={"n_rows": 30})
    nul = _csv(small_df(rng, 40)).replace("smb", "s\x00mb", 3)
    add("nul_bytes.csv", nul, "warn", ["nul"], checks={"n_rows": 40})
    add("json_instead.csv", '[{"a": 1, "target": "yes"}, {"a": 2, "target": "no"}]', "reject", ["json"])
    add("pipe_delimited.csv", _csv(small_df(rng, 40), sep="|"), "warn", ["pipe"], checks={"n_cols": 4})
    members = b"".join(gzip.compress(_csv(small_df(rng, 20), header=k == 0).encode(), mtime=0) for k in range(3))
    add("multi_member.csv.gz", members, "warn", ["gzip"], checks={"n_rows": 60})
    add("bzip2_named_csv.csv", b"BZh91AY&SY" + bytes(40), "reject", ["bzip2", "compressed"])
    add("only_target.csv", "target\n" + "\n".join(["yes", "no"] * 20) + "\n", "reject", ["one column"])
    add("no_target_named.csv", _csv(small_df(rng, 30).rename(columns={"target": "outcome_flag"})), "reject",
        ["--target", "could be targets"], target=None)
    rag = "a,b,target\n" + "".join(f"{i},{i * 2},{'x' if i % 2 else 'y'}\n" for i in range(200)) + "7,8,x,EXTRA\n"
    add("one_bad_line.csv", rag, "warn", ["line 202", "malformed"], checks={"n_rows": 200})
    return cases


def report_text(report: dict[str, Any], markdown: str) -> str:
    return json.dumps(report, ensure_ascii=False) + "\n" + markdown


def assert_display_safe(report: dict[str, Any]) -> None:
    """No control, bidi or zero-width characters anywhere in the JSON; names at most 64 chars."""
    import unicodedata

    text = json.dumps(report, ensure_ascii=False)
    bad = [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n"]
    assert not bad, f"invisible characters in the report: {[hex(ord(c)) for c in bad[:5]]}"
    for w in report["warnings"]:
        assert w["column"] is None or len(w["column"]) <= 64
    for c in report.get("profile", {}).get("columns", []):
        assert len(c["name"]) <= 64
