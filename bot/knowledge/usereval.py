"""`mlbot eval users`: questions and conversations as users type them, scored as the dev set is.

A set is a folder with `questions.yaml` (`questions`: id, category, question, expected answer|decline,
guide, section, must_mention) and/or `conversations.yaml` (`conversations`: id, turns of the same
fields plus must_not_mention), the format of ../shared/devsets/ask. The measures are the dev set's:

- must-mention coverage: a fact is covered when at least 60% of its key tokens are in the answer
  (numbers, acronyms / CamelCase / code, capitalised names; else words of 7+ letters, else 4+);
- declines ok, false declines, citation hit (the expected guide among the first three sources);
- a conversation turn is right when answered or declined as expected, citing the guide, with no
  must_not_mention text; plus, for declines, whether the reason (remit or coverage) is the expected one
  (`outside_remit`, `off_topic` and `injection` expect remit; `not_covered` expects coverage).

Everything runs in this process (one model load), so a set of a hundred turns takes seconds.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import yaml

from bot.errors import InputError

COVERED_SHARE = 0.6
CITED_TOP = 3
REMIT_CATEGORIES = ("off_topic", "outside_remit", "injection")
_TRANSLATE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                            "\u2014": "-", "\u00a0": " "})


def load(folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder.", hint="Point --questions at a folder holding questions.yaml "
                                                            "and/or conversations.yaml.")
    questions = _items(folder / "questions.yaml", "questions")
    conversations = _items(folder / "conversations.yaml", "conversations")
    if not questions and not conversations:
        raise InputError(f"{folder} has no questions.yaml or conversations.yaml.")
    for item in [*questions, *(t for c in conversations for t in c.get("turns") or [])]:
        if item.get("expected") not in ("answer", "decline") or not item.get("question"):
            raise InputError(f"{folder.name}: an item lacks a question or 'expected: answer|decline'.")
    return questions, conversations


def _items(path: Path, key: str) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path.name} is not valid YAML: {exc}") from exc
    return list(data.get(key) or [])


# Facts --------------------------------------------------------------------------------------------

def _norm(text: str) -> str:
    return text.translate(_TRANSLATE).lower()


def _clean(raw: str) -> str:
    tok = raw.translate(_TRANSLATE)
    while True:
        before = tok
        tok = tok.lstrip("\"'([{").rstrip("\"'.,;:!?]}")
        if tok.endswith(")") and tok.count(")") > tok.count("("):
            tok = tok[:-1]
        if tok == before:
            return tok


def key_tokens(fact: str) -> list[str]:
    """The tokens of a must-mention fact that an answer has to contain (lower case)."""
    special, long_words, short_words = [], [], []
    for raw in str(fact).split():
        tok = _clean(raw)
        if not tok:
            continue
        letters = sum(ch.isalpha() for ch in tok)
        if re.search(r"\d", tok):
            special.append(tok.lstrip("£$€") or tok)
        elif (re.search(r"[_=()]", tok) or sum(ch.isupper() for ch in tok) >= 2 or any(ch.isupper() for ch in tok[1:])
              or (tok[0].isupper() and letters >= 2)):
            special.append(tok)
        elif letters >= 7:
            long_words.append(tok)
        elif letters >= 4:
            short_words.append(tok)
    out: list[str] = []
    for tok in special or long_words or short_words or [str(fact).strip()]:
        if _norm(tok) not in out:
            out.append(_norm(tok))
    return out


def _present(token: str, text: str) -> bool:
    """At a word start; a token ending in a digit must not run on into more digits."""
    start = 0
    while (i := text.find(token, start)) >= 0:
        j = i + len(token)
        before = text[i - 1] if i > 0 else " "
        after, after2 = text[j:j + 1] or " ", text[j + 1:j + 2] or " "
        runs_on = token[-1].isdigit() and (after.isdigit() or (after in ".," and after2.isdigit()))
        if not before.isalnum() and not runs_on:
            return True
        start = i + 1
    return False


def fact_covered(fact: str, answer: str) -> bool:
    text, tokens = _norm(answer), key_tokens(fact)
    return sum(_present(t, text) for t in tokens) >= COVERED_SHARE * len(tokens)


# Scoring ------------------------------------------------------------------------------------------

def score(item: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    expected, answer = item["expected"], str(result.get("answer") or "")
    sources = [str(s.get("source") or "") for s in result.get("sources") or []]
    declined = bool(result.get("declined"))
    facts = [str(f) for f in item.get("must_mention") or []]
    missed = [f for f in facts if declined or not fact_covered(f, answer)]
    stale = [s for s in (str(x) for x in item.get("must_not_mention") or []) if _norm(s) in _norm(answer)]
    guide = str(item.get("guide") or "").strip("/")
    # An answerable item without an expected guide (calibration turns, look-alikes) checks the decision only.
    cited = (not declined and any(s == guide or s.endswith("/" + guide) for s in sources[:CITED_TOP])
             if expected == "answer" and guide else None)
    decision_ok = (not declined) if expected == "answer" else declined
    want = "remit" if item.get("category") in REMIT_CATEGORIES else "coverage"
    return {"id": item.get("id"), "question": item["question"], "category": item.get("category"),
            "expected": expected, "declined": declined, "decline_reason": result.get("decline_reason"),
            "reason_ok": (result.get("decline_reason") == want) if expected == "decline" and declined else None,
            "facts": len(facts), "facts_covered": len(facts) - len(missed), "facts_missed": missed, "stale": stale,
            "cited": cited, "decision_ok": decision_ok, "right": bool(decision_ok and cited is not False and not stale),
            "sources": sources[:5], "answer": answer, "notes": result.get("notes") or [], "guide": guide or None}


def run(core, folder: Path, *, only: set[str] | None = None) -> dict[str, Any]:
    questions, conversations = load(folder)
    if only:
        questions = [q for q in questions if q.get("id") in only]
        conversations = [c for c in conversations if c.get("id") in only]
    started = time.monotonic()
    qrows = [score(q, core.ask(str(q["question"]), user_id="eval")) for q in questions]
    convs = []
    for c in conversations:
        conv_id, turns = None, []
        for turn in c.get("turns") or []:
            result = core.ask(str(turn["question"]), user_id="eval", conversation_id=conv_id)
            conv_id = conv_id or result.get("conversation_id")
            turns.append(score(turn, result))
        convs.append({"id": c.get("id"), "topic": c.get("topic"), "turns": turns})
    return {"kind": "users", "folder": str(folder), "summary": summary(qrows, convs), "questions": qrows,
            "conversations": convs, "seconds": round(time.monotonic() - started, 1)}


def _share(rows: list[dict[str, Any]]) -> float | None:
    """The share of rows whose expected guide was cited (None when no row names one)."""
    return round(sum(bool(r["cited"]) for r in rows) / len(rows), 3) if rows else None


def summary(qrows: list[dict[str, Any]], convs: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in qrows if r["expected"] == "answer"]
    dec = [r for r in qrows if r["expected"] == "decline"]
    turns = [t for c in convs for t in c["turns"]]
    facts = sum(r["facts"] for r in ans)
    reasons = [r for r in [*dec, *turns] if r["reason_ok"] is not None]
    return {"coverage": round(sum(r["facts_covered"] for r in ans) / facts, 3) if facts else None,
            "false_declines": sum(r["declined"] for r in ans), "answerable": len(ans),
            "declines_ok": sum(r["declined"] for r in dec), "declines": len(dec),
            "citations": _share([r for r in ans if r["cited"] is not None]),
            "turns_right": sum(t["right"] for t in turns), "turns": len(turns),
            "turn_declines_ok": sum(t["declined"] for t in turns if t["expected"] == "decline"),
            "turn_declines": sum(t["expected"] == "decline" for t in turns),
            "reasons_ok": sum(bool(r["reason_ok"]) for r in reasons), "reasons": len(reasons)}


# Report -------------------------------------------------------------------------------------------

def _ratio(a: int, b: int, pct: bool = True) -> str:
    return "-" if not b else (f"{a}/{b} {100 * a / b:.0f}%" if pct else f"{a}/{b}")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(row):
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in
                         enumerate(zip(row, widths, strict=True)))

    return [fmt(header), fmt(["-" * w for w in widths]), *[fmt(r) for r in rows]]


def miss_text(row: dict[str, Any]) -> str:
    parts = []
    top = ", ".join(s.removeprefix("knowledge/") for s in row["sources"][:CITED_TOP]) or "no sources"
    if row["expected"] == "answer" and row["declined"]:
        parts.append(f"false decline ({row['decline_reason']}; closest passages: {top})")
    elif row["expected"] == "decline" and not row["declined"]:
        parts.append(f"not declined (answered from {top})")
    elif row["reason_ok"] is False:
        parts.append(f"declined as {row['decline_reason']}")
    if row["facts_missed"] and not row["declined"]:
        parts.append("facts: " + "; ".join(f'"{f}"' for f in row["facts_missed"]))
    if row["cited"] is False and not row["declined"]:
        parts.append(f"citation: wanted {row['guide']}, got {top}")
    if row["stale"]:
        parts.append("stale: " + ", ".join(f'"{s}"' for s in row["stale"]))
    return " | ".join(parts)


def table(result: dict[str, Any]) -> str:
    qrows, convs = result["questions"], result["conversations"]
    lines = []
    if qrows:
        cats = list(dict.fromkeys(r["category"] for r in qrows))
        rows = []
        for cat in [*cats, "all"]:
            rs = [r for r in qrows if cat == "all" or r["category"] == cat]
            ans = [r for r in rs if r["expected"] == "answer"]
            dec = [r for r in rs if r["expected"] == "decline"]
            rows.append([cat, str(len(rs)), _ratio(sum(r["facts_covered"] for r in ans), sum(r["facts"] for r in ans)),
                         _ratio(sum(r["declined"] for r in dec), len(dec), pct=False),
                         _ratio(sum(r["declined"] for r in ans), len(ans), pct=False),
                         _ratio(sum(bool(r["cited"]) for r in ans), sum(r["cited"] is not None for r in ans))])
        lines += _table(["questions", "n", "must-mention", "declines ok", "false declines", "citation hit"], rows)
        lines.append("")
    if convs:
        rows = []
        for conv in [*convs, {"id": "all", "turns": [t for c in convs for t in c["turns"]]}]:
            ts = conv["turns"]
            ans = [t for t in ts if t["expected"] == "answer"]
            rows.append([conv["id"], str(len(ts)), _ratio(sum(t["right"] for t in ts), len(ts), pct=False),
                         str(sum(not t["decision_ok"] for t in ts)),
                         _ratio(sum(bool(t["cited"]) for t in ans), sum(t["cited"] is not None for t in ans),
                                pct=False),
                         str(sum(bool(t["stale"]) for t in ts)),
                         _ratio(sum(t["facts_covered"] for t in ans), sum(t["facts"] for t in ans))])
        lines += _table(["conversation", "turns", "right", "wrong call", "guide cited", "stale", "must-mention"], rows)
        lines.append("")
    misses = [(r["id"], miss_text(r)) for r in qrows]
    misses += [(f"{c['id']}.{n}", miss_text(t)) for c in convs for n, t in enumerate(c["turns"], 1)]
    misses = [(i, m) for i, m in misses if m]
    lines.append(f"misses ({len(misses)}):")
    lines += [f"  {i:<8}{m}" for i, m in misses] or ["  none"]
    s = result["summary"]
    cov = "n/a" if s["coverage"] is None else f"{100 * s['coverage']:.0f}%"
    cit = "n/a" if s["citations"] is None else f"{100 * s['citations']:.0f}%"
    lines += ["", f"ran in {result['seconds']} s",
              f"users: coverage {cov}, false declines {s['false_declines']}/{s['answerable']}, "
              f"declines {s['declines_ok']}/{s['declines']}, citations {cit}, "
              f"conversation turns {s['turns_right']}/{s['turns']}, decline reasons {s['reasons_ok']}/{s['reasons']}"]
    return "\n".join(lines)
