"""Library-docs retrieval eval: guides without front matter ingested beside knowledge/.

    python evals/eval_library.py DOCS_DIR [--questions FILE] [--data-dir DIR] [--alone] [--json OUT]
    python evals/eval_library.py DOCS_DIR --data-dir DIR --sweep 0,0.5,1,2

Ingests knowledge/ plus DOCS_DIR (for example the scikit-learn user guide, doc/modules/*.rst) into a
temporary data dir (or DIR, reused between runs: unchanged files are skipped), then asks every question
of evals/questions/library/*.yaml the way `ask` retrieves (routing, topic boost, hybrid search) and
prints section recall@1, recall@5 and MRR, with the misses. A question names the docs file and the last
heading of the section that answers it. `--alone` ingests DOCS_DIR without knowledge/ (the ceiling).
`--sweep` calibrates `retrieval.identifier_weight`: for each value it prints the library recall beside
the section recall of our own questions on the shipped guides (evals/questions/*.yaml), which must not fall.

Get the scikit-learn user guide from a checkout of github.com/scikit-learn/scikit-learn (doc/modules)
into evals/.cache/ (git-ignored: the docs are not our words and are never committed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import Core  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.knowledge.embeddings import encode  # noqa: E402
from bot.knowledge.split import SECTION_SEP  # noqa: E402

K = 5


def load_library_questions(path: Path) -> list[dict]:
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    out = []
    for f in files:
        for q in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("questions", []):
            missing = [k for k in ("id", "question", "file", "section") if not q.get(k)]
            if missing:
                raise SystemExit(f"{f.name}: question {q.get('id', '?')} lacks {', '.join(missing)}")
            out.append(q)
    return out


def section_rank(sources: list[dict], q: dict) -> int | None:
    """1-based rank of the first source in the expected file whose last heading is the expected one."""
    want = str(q["section"]).strip().lower()
    for i, s in enumerate(sources):
        path = str(s.get("source", "")).replace("\\", "/")
        last = str(s.get("section", "")).split(SECTION_SEP)[-1].strip().lower()
        if (path == q["file"] or path.endswith("/" + q["file"])) and last == want:
            return i + 1
    return None


def retrieve(kb, question: str) -> list[dict]:
    """The top-K sources for a question, through the same routing and topic boost as `ask`."""
    qvec = encode(kb.embeddings, [question])[0]
    route = kb.router.route(qvec)
    topics = route.skill.topics if route.skill else None
    return [h.source_dict() for h in kb.retriever.search(question, topics=topics, k=K, query_vector=qvec)]


def evaluate(core: Core, questions: list[dict]) -> dict:
    rows = []
    for q in questions:
        sources = retrieve(core.knowledge, q["question"])
        rows.append({"id": q["id"], "rank": section_rank(sources, q),
                     "top": [f"{Path(s['source']).name} > {s['section'].split(SECTION_SEP)[-1]}" for s in sources[:3]]})
    n = len(rows) or 1
    summary = {"questions": len(rows),
               "recall@1": round(sum(1 for r in rows if r["rank"] == 1) / n, 3),
               "recall@5": round(sum(1 for r in rows if r["rank"] and r["rank"] <= K) / n, 3),
               "mrr": round(sum(1 / r["rank"] for r in rows if r["rank"]) / n, 3)}
    return {"summary": summary, "rows": rows}


def shipped_questions() -> list[dict]:
    """Our own questions on the shipped guides, in this script's format (file = path under knowledge/)."""
    out = []
    for f in sorted((ROOT / "evals" / "questions").glob("*.yaml")):
        for q in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("questions", []) or []:
            out.append({"id": q["id"], "question": q["question"], "file": q["guide"], "section": q["section"]})
    return out


def sweep(data: Path, questions: list[dict], weights: list[float]) -> None:
    shipped = shipped_questions()
    print("| identifier_weight | library recall@5 | library MRR | shipped recall@5 | shipped MRR |")
    print("|---|---|---|---|---|")
    for w in weights:
        core = Core(load_settings(data_dir=data, env={}, overrides={"retrieval.identifier_weight": w}))
        lib, own = evaluate(core, questions)["summary"], evaluate(core, shipped)["summary"]
        core.close()
        print(f"| {w} | {lib['recall@5']:.3f} | {lib['mrr']:.3f} | {own['recall@5']:.3f} | {own['mrr']:.3f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("docs", type=Path, help="folder of library docs without front matter (e.g. doc/modules)")
    ap.add_argument("--questions", type=Path, default=ROOT / "evals" / "questions" / "library")
    ap.add_argument("--data-dir", type=Path, help="reuse this data dir (default: a temporary one)")
    ap.add_argument("--alone", action="store_true", help="ingest the docs without knowledge/")
    ap.add_argument("--json", type=Path, help="write the rows and the summary here")
    ap.add_argument("--sweep", help="comma-separated identifier_weight values to compare (needs --data-dir)")
    args = ap.parse_args(argv)
    if not args.docs.is_dir():
        print(f"error: {args.docs} is not a folder of docs", file=sys.stderr)
        return 2
    questions = load_library_questions(args.questions)
    if args.sweep:
        if not args.data_dir:
            print("error: --sweep needs --data-dir (an index with knowledge/ and the docs)", file=sys.stderr)
            return 2
        sweep(args.data_dir, questions, [float(v) for v in args.sweep.split(",")])
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data_dir or Path(tmp) / "data"
        core = Core(load_settings(data_dir=data, env={}))
        paths = [args.docs] if args.alone else [ROOT / "knowledge", args.docs]
        done = core.ingest(paths)
        print(f"index: {done['chunks_total']} chunks ({'docs alone' if args.alone else 'knowledge/ + docs'})",
              file=sys.stderr)
        result = evaluate(core, questions)
        core.close()
    for r in result["rows"]:
        if not (r["rank"] and r["rank"] <= K):
            print(f"  miss {r['id']}: top {'; '.join(r['top'])}")
    s = result["summary"]
    print(f"library docs ({args.docs.name}): {s['questions']} questions, section recall@1 {s['recall@1']:.3f}, "
          f"recall@5 {s['recall@5']:.3f}, MRR {s['mrr']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
