"""Answer-sentence quality: label every sentence of extractive answers that does not help.

    python evals/answer_quality.py [QUESTIONS ...] [--data-dir DIR] [--json OUT] [--show]

QUESTIONS are YAML files or folders in the dev-set format (`questions:` with `question`, `expected`,
`guide`, `section`, `must_mention`); the default is ../shared/devsets/ask/questions.yaml and
evals/questions/. Every answerable question is asked in-process on the index in DIR (default: a
temporary data dir with knowledge/ ingested) and each answer sentence is labelled:

- `guide-meta`: about the guide itself ("This guide ...", "It covers ...", "Note: ...");
- `lead-in`: introduces a list or the following text (ends with ":") without its items;
- `cut`: split at an initial or an abbreviation, or truncated ("…");
- `repeated-figure`: repeats an amount or percentage an earlier sentence from another section gave;
- `off-guide`: from another guide than the expected one and carrying none of the expected facts;
- `masked-link`: carries a `[text](url)` link.

A sentence from another section of the expected guide that carries none of the expected facts is
counted apart as `other-section` (it often helps, and it mostly measures retrieval, not composition):
the strict share, with it, is printed beside the headline share.

A footer (the text after the body) that ends mid-word is counted per answer. Prints the share of
labelled sentences (the goal: at most 10%), sentences per answer, answers at the sentence cap and
must-mention coverage (a fact is covered when 60% of its key tokens appear, as in the dev runner) and
how many answers lead with a sentence of the expected section.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SETS = [ROOT.parent / "shared" / "devsets" / "ask" / "questions.yaml", ROOT / "evals" / "questions"]

_CITED = re.compile(r"(.+?)\s\[(\d{1,2})\](?=\s|$)", re.S)
_META = re.compile(r"^(this|the present|our) (guide|note|page|article|section|document)\b|"
                   r"^it (covers|explains|describes|sets out|looks at|summari[sz]es|is written for)\b|"
                   r"^(below|here),? (we|you)\b|^in this (guide|section|page)\b|^note:|"
                   r"^the (following|next) sections?\b|\bnot (legal|tax|financial)( or \w+)? advice\b", re.I)
_LEAD_IN = re.compile(r"(:|\b(the following|as follows))\s*$", re.I)
_CUT = re.compile(r"((?<![\w'’])[A-Z]|(?<![\w'’])(e\.g|i\.e|etc|vs?|cf|s|ss|pp?|No|Art|Dr|Mr|Ms|St|U\.S|U\.K))\.$|…$")
_FIGURE = re.compile(r"[£$€]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:k|m|bn)\b)?|\d[\d,]*(?:\.\d+)?\s?%")
_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)")


def load_items(paths: list[Path]) -> list[dict]:
    items = []
    for path in paths:
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        for f in files:
            for q in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("questions", []) or []:
                if q.get("expected", "answer") == "answer" and q.get("guide") and q.get("section"):
                    items.append({**q, "set": f.stem})
    return items


# Key tokens of a fact (the dev runner's rule, restated): numbers, names, acronyms and code tokens;
# failing those, words of 7+ letters; failing those, words of 4+ letters.
def key_tokens(fact: str) -> list[str]:
    special, long_words, short = [], [], []
    for raw in str(fact).split():
        tok = raw.strip("\"'([{").rstrip("\"'.,;:!?]})")
        if not tok:
            continue
        letters = sum(ch.isalpha() for ch in tok)
        if re.search(r"\d", tok):
            special.append(tok.lstrip("£$€") or tok)
        elif re.search(r"[_=()]", tok) or any(ch.isupper() for ch in tok[1:]) or (tok[0].isupper() and letters >= 2):
            special.append(tok)
        elif letters >= 7:
            long_words.append(tok)
        elif letters >= 4:
            short.append(tok)
    chosen = special or long_words or short or [str(fact)]
    return list(dict.fromkeys(t.lower().replace("\u2019", "'") for t in chosen))


def present(token: str, text: str) -> bool:
    for m in re.finditer(re.escape(token), text):
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end(): m.end() + 2]
        runs_on = token[-1].isdigit() and bool(re.match(r"\d|[.,]\d", after))
        if not before.isalnum() and not runs_on:
            return True
    return False


def covered(fact: str, text: str) -> bool:
    tokens = key_tokens(fact)
    low = text.lower().replace("\u2019", "'").replace("\u2013", "-")
    return sum(present(t, low) for t in tokens) >= 0.6 * len(tokens)


def split_answer(answer: str) -> tuple[list[tuple[str, int]], str]:
    """(sentence, citation number) pairs of the answer body, and the footer."""
    body, _, tail = answer.partition("\n\n_")
    pairs = [(m.group(1).strip(), int(m.group(2))) for m in _CITED.finditer(body.replace("\n\n", " "))]
    return pairs, tail


def label_answer(result: dict, item: dict) -> dict:
    pairs, tail = split_answer(result["answer"])
    sources = result["sources"]
    facts = item.get("must_mention") or []
    tokens = {t for f in facts for t in key_tokens(f)}
    seen_figures: dict[str, str] = {}
    labels = []
    for text, n in pairs:
        src = sources[n - 1] if 0 < n <= len(sources) else {}
        where = f"{src.get('source', '')}#{src.get('section', '')}"
        on_guide = str(src.get("source", "")).endswith(item["guide"])
        on_section = on_guide and \
            str(src.get("section", "")).split(" > ")[-1].strip().lower() == str(item["section"]).strip().lower()
        low = text.lower()
        label = None
        if _LINK.search(text):
            label = "masked-link"
        elif _META.search(text):
            label = "guide-meta"
        elif _LEAD_IN.search(text.rstrip("* ")) and "\n-" not in text:
            label = "lead-in"
        elif _CUT.search(text):
            label = "cut"
        else:
            figures = [f.replace(" ", "") for f in _FIGURE.findall(text)]
            if any(f in seen_figures and seen_figures[f] != where for f in figures):
                label = "repeated-figure"
            elif not on_section and not any(present(t, low) for t in tokens):
                label = "other-section" if on_guide else "off-guide"
        for f in _FIGURE.findall(text):
            seen_figures.setdefault(f.replace(" ", ""), where)
        labels.append({"text": text, "label": label, "on_section": on_section})
    footer_cut = bool(tail) and not re.search(r"[.!?)\]]_?\s*$", tail.strip())
    return {"id": item.get("id"), "set": item.get("set"), "sentences": labels, "footer_cut": footer_cut,
            "lead_on_section": bool(labels) and labels[0]["on_section"],
            "declined": result.get("declined"), "facts": len(facts),
            "facts_covered": sum(covered(f, result["answer"]) for f in facts)}


def summarise(rows: list[dict], cap: int) -> dict:
    answered = [r for r in rows if not r["declined"]]
    sentences = [s for r in answered for s in r["sentences"]]
    kinds = Counter(s["label"] for s in sentences if s["label"])
    n = len(sentences) or 1
    irrelevant = sum(v for k, v in kinds.items() if k != "other-section")
    return {"answers": len(answered), "declined": len(rows) - len(answered), "sentences": len(sentences),
            "irrelevant": irrelevant, "irrelevant_share": round(irrelevant / n, 3),
            "strict_share": round(sum(kinds.values()) / n, 3),
            "by_label": dict(kinds), "per_answer": round(len(sentences) / (len(answered) or 1), 2),
            "at_cap": sum(1 for r in answered if len(r["sentences"]) >= cap),
            "footer_cut": sum(r["footer_cut"] for r in answered),
            "lead_on_section": sum(r["lead_on_section"] for r in answered),
            "coverage": round(sum(r["facts_covered"] for r in rows) / (sum(r["facts"] for r in rows) or 1), 3)}


def run(core, items: list[dict]) -> list[dict]:
    rows = []
    for item in items:
        result = core.ask(item["question"], user_id="quality-eval")
        rows.append(label_answer(result, item) | {"answer": result["answer"]})
    return rows


def main(argv=None) -> int:
    from bot.app import Core
    from bot.config import load_settings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", type=Path, help="question files or folders (default: dev set + evals/questions)")
    ap.add_argument("--data-dir", type=Path, help="an index to use (default: ingest knowledge/ into a temp dir)")
    ap.add_argument("--json", type=Path, help="write every labelled sentence here")
    ap.add_argument("--show", action="store_true", help="print each labelled sentence")
    args = ap.parse_args(argv)
    sets = args.sets or [p for p in DEFAULT_SETS if p.exists()]
    items = load_items(sets)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data_dir or Path(tmp) / "data"
        core = Core(load_settings(data_dir=data, env={}))
        if not args.data_dir:
            core.ingest([ROOT / "knowledge"])
        cap = core.settings.answer.max_sentences
        rows = run(core, items)
        core.close()
    print("| set | answers | sentences | per answer | at cap | irrelevant | share | strict share | coverage | footer cut "
          "| lead on the expected section |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in [*sorted({r["set"] for r in rows}), "all"]:
        s = summarise([r for r in rows if name == "all" or r["set"] == name], cap)
        print(f"| {name} | {s['answers']} | {s['sentences']} | {s['per_answer']} | {s['at_cap']} | "
              f"{s['irrelevant']} | {s['irrelevant_share']:.1%} | {s['strict_share']:.1%} | {s['coverage']:.1%} | "
              f"{s['footer_cut']} | {s['lead_on_section']} |")
    total = summarise(rows, cap)
    print("labels: " + ", ".join(f"{k} {v}" for k, v in sorted(total["by_label"].items())))
    if args.show:
        for r in rows:
            for s in r["sentences"]:
                if s["label"]:
                    print(f"  {r['id']} [{s['label']}] {s['text'][:160]}")
    if args.json:
        args.json.write_text(json.dumps({"summary": total, "rows": rows}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
