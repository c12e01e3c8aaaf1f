"""Ask benchmark: ingest time against pure embedding time, warm and cold latency.

    python evals/bench_ask.py [--synthetic 5000] [--cold-runs 5] [--dev-set PATH]

Measures, on `knowledge/` and on a synthetic corpus of N chunks (real sentences of the guides
recombined into new chunks, embedded for real):
- ingest wall time against the time to embed the same chunk texts alone (goal: at most 1.3x), and
  ingest chunks/s (goal: >= 25 on knowledge/; per runtime and thread count: evals/bench_embed.py);
- warm retrieval latency (query embedding + hybrid search) and warm `ask` latency, p50/p95, over
  every question of evals/questions (answerable and to decline) and of the ask dev set, each asked
  once per state (goals: retrieval p95 under 50 ms, ask p95 under 100 ms at 5,000 chunks). `ask_*`
  is the steady state (sentence vectors filled in the background); `ask_ondemand_*` an empty
  sentence store without the fill; `ask_filling_*` questions asked while the fill runs from empty,
  `filled_during_pct` how far it got meanwhile, `fill_s` the fill's wall time (see measure_warm);
- cold `ask`: a new `mlbot ask` process per question, wall time to the answer (goal: under 5 s).
Prints a table and writes evals/results/bench_ask.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import Core  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.knowledge.embeddings import encode  # noqa: E402
from bot.knowledge.evaluate import load_questions  # noqa: E402
from bot.knowledge.index import release_clients  # noqa: E402
from evals.bench_embed import guide_chunks  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q * (len(values) - 1))))
    return values[k]


def bench_questions(dev_set: Path | None) -> list[str]:
    """Every question of evals/questions (to answer and to decline) and of the ask dev set, each once."""
    questions, declines = load_questions(ROOT / "evals" / "questions")
    texts = [q["question"] for q in questions + declines]
    if dev_set and dev_set.is_file():
        texts += [q["question"] for q in yaml.safe_load(dev_set.read_text(encoding="utf-8"))["questions"]]
    elif dev_set:
        print(f"no dev set at {dev_set}: measuring on evals/questions only", file=sys.stderr)
    return list(dict.fromkeys(texts))


def synthetic_corpus(folder: Path, n_chunks: int, seed: int = 0) -> None:
    """Guides of recombined real sentences: 50 sections per guide, one chunk per section."""
    from bot.knowledge.compose import split_sentences

    rng = random.Random(seed)
    sentences = []
    for f in sorted((ROOT / "knowledge").rglob("*.md")):
        sentences += [s for _, s in split_sentences(f.read_text(encoding="utf-8"))]
    folder.mkdir(parents=True, exist_ok=True)
    per_guide = 50
    for g in range(-(-n_chunks // per_guide)):
        parts = [f"# Synthetic guide {g}\n"]
        for s in range(min(per_guide, n_chunks - g * per_guide)):
            body = " ".join(rng.sample(sentences, 3))
            parts.append(f"## Section {g}-{s}: {' '.join(rng.choice(sentences).split()[:5])}\n\n{body}\n")
        (folder / f"synthetic_{g:03d}.md").write_text("\n".join(parts), encoding="utf-8")


def measure_ingest(core: Core, folder: Path) -> dict:
    texts = guide_chunks(core.settings, folder)
    emb = core.knowledge.embeddings
    encode(emb, ["warm up the model"])
    started = time.perf_counter()
    batch = core.settings.ingest.batch_size
    for i in range(0, len(texts), batch):
        encode(emb, texts[i : i + batch])
    embed_s = time.perf_counter() - started
    started = time.perf_counter()
    result = core.ingest([folder])
    ingest_s = time.perf_counter() - started
    return {"chunks": result["chunks_total"], "embed_s": round(embed_s, 2), "ingest_s": round(ingest_s, 2),
            "ratio": round(ingest_s / embed_s, 3), "ingest_chunks_per_s": round(result["chunks_total"] / ingest_s, 1)}


def measure_warm(data: Path, questions: list[str], fill_timeout: float) -> dict:
    """Warm `ask` in three states of the sentence-vector store (bot/knowledge/sentences.py), each in a
    fresh Core (nothing in memory) asking every question once:
    - ondemand: an empty store and no fill (every sentence a question weighs is embedded then);
    - filling: an empty store at `warm()`, asked while the background fill runs (what a question costs
      before the fill finishes, and how much the fill holds answers up);
    - filled: after the fill (the steady state of a long-running front); retrieval is measured here."""
    store = data / "cache" / "sentences.sqlite"
    row: dict = {"n": len(questions)}

    def fresh(fill: bool) -> Core:
        core = Core(load_settings(data_dir=data, env={}, overrides={"sentences.fill": fill}))
        core.warm()
        return core

    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    core = fresh(False)
    row |= _asked(core, questions, "ondemand")
    core.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    core = fresh(True)
    row |= _asked(core, questions, "filling")
    fill = core.knowledge.sentence_fill
    row["filled_during_pct"] = round(100 * core.knowledge.sentence_store.count() / max(1, _sentence_total(core)))
    if not fill.done.wait(fill_timeout):
        raise SystemExit(f"the sentence fill did not finish in {fill_timeout} s")
    row["fill_s"] = round(time.perf_counter() - started, 1)
    core.close()
    core = fresh(True)
    kb = core.knowledge
    kb.retriever.search("warm up")
    retrieval = []
    for q in questions:
        started = time.perf_counter()
        kb.retriever.search(q)
        retrieval.append((time.perf_counter() - started) * 1000)
    row |= {"retrieval_p50_ms": round(pct(retrieval, 0.5), 1), "retrieval_p95_ms": round(pct(retrieval, 0.95), 1)}
    row |= _asked(core, questions, "")
    core.close()
    return row


def _asked(core: Core, questions: list[str], state: str) -> dict:
    times = []
    for q in questions:
        started = time.perf_counter()
        core.ask(q, user_id="bench")
        times.append((time.perf_counter() - started) * 1000)
    tag = f"_{state}" if state else ""
    return {f"ask{tag}_p50_ms": round(pct(times, 0.5), 1), f"ask{tag}_p95_ms": round(pct(times, 0.95), 1)}


def _sentence_total(core: Core) -> int:
    from bot.knowledge.sentences import chunk_sentences

    texts = core.knowledge.retriever.corpus().texts
    return len({s for t in texts for s in chunk_sentences(t)})


def measure_cold(data_dir: Path, questions: list[str]) -> dict:
    env = {**os.environ, "MLBOT_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    times = []
    for q in questions:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bot.cli", "ask", q, "--json"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(f"cold ask failed: {proc.stderr[-500:]}")
    return {"cold_p50_s": round(pct(times, 0.5), 2), "cold_p95_s": round(pct(times, 0.95), 2),
            "cold_max_s": round(max(times), 2), "n": len(times)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synthetic", type=int, default=5000, help="chunks in the synthetic corpus (0 to skip)")
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--fill-timeout", type=float, default=1800, help="seconds to wait for the sentence fill")
    ap.add_argument("--dev-set", type=Path, default=ROOT.parent / "shared" / "devsets" / "ask" / "questions.yaml",
                    help="the ask dev set's questions.yaml (its questions join the warm measurement)")
    args = ap.parse_args(argv)
    questions = bench_questions(args.dev_set)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpora = [("knowledge/", ROOT / "knowledge")]
        if args.synthetic:
            synthetic_corpus(tmp / "synthetic", args.synthetic)
            corpora.append((f"synthetic {args.synthetic}", tmp / "synthetic"))
        for name, folder in corpora:
            data = tmp / ("data-" + name.split()[0].strip("/"))
            core = Core(load_settings(data_dir=data, env={}))
            row = measure_ingest(core, folder)
            core.close()
            row |= measure_warm(data, questions, args.fill_timeout)
            release_clients()
            row |= measure_cold(data, questions[: args.cold_runs])
            rows[name] = row
            print(f"{name}: done", file=sys.stderr)
    cols = ["chunks", "embed_s", "ingest_s", "ratio", "retrieval_p50_ms", "retrieval_p95_ms", "ask_p50_ms",
            "ask_p95_ms", "ask_ondemand_p50_ms", "ask_ondemand_p95_ms", "ask_filling_p50_ms", "ask_filling_p95_ms",
            "filled_during_pct", "fill_s", "cold_p50_s", "cold_p95_s", "cold_max_s"]
    cols.insert(cols.index("ratio") + 1, "ingest_chunks_per_s")
    print("| corpus | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(str(row[c]) for c in cols) + " |")
    print("\nGoals: ratio <= 1.3; ingest of knowledge/ >= 25 chunks/s; retrieval p95 < 50 ms and warm ask p95 "
          "<= 100 ms at 5,000 chunks; first answer after process start < 5 s.")
    out = ROOT / "evals" / "results" / "bench_ask.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "cpu_count": os.cpu_count()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
