"""Embedding benchmark: chunks/s of the offline MiniLM per runtime, thread count and batch size.

    python evals/bench_embed.py [--runtimes onnx sentence-transformers] [--threads 1 2] [--batch 8]
                                [--busy 0 1] [--repeats 3]

Embeds the chunk texts of `knowledge/` (what `make run` ingests) in a fresh process per
measurement, so thread pools and imports never carry over. `--busy N` runs N busy-looping
processes beside the measurement (N=1 on two cores: the other core is taken, as by a scope job
beside the bot). Prints the median chunks/s over the repeats, the spread, and the model's load
time (onnx: from the cached graph; the first build is timed once, as `build_s`). Goal: the
default configuration (config.yaml `embeddings`) embeds `knowledge/` at >= 25 chunks/s on a quiet
2-core machine. Writes evals/results/bench_embed.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def guide_chunks(settings, folder: Path) -> list[str]:
    """The texts ingest embeds for the guides under `folder`: their chunks and the `asked:` questions of
    their sections."""
    from bot.knowledge.loaders import asked_questions, load_guide
    from bot.knowledge.split import split_guide

    cfg = settings.ingest
    texts = []
    for f in sorted(folder.rglob("*")):
        if f.suffix.lower() in cfg.extensions:
            guide = load_guide(f, f.read_bytes())
            texts += [c.embed_text for c in split_guide(guide, chunk_chars=cfg.chunk_chars, overlap=cfg.chunk_overlap)]
            texts += sorted({q for qs in asked_questions(guide.meta).values() for q in qs})
    return texts


def child(runtime: str, threads: int, batch: int, cache: str) -> dict:
    """One measurement in this (fresh) process: load the model, warm it, embed every chunk once."""
    from bot.config import load_settings
    from bot.knowledge.embeddings import OnnxMiniLM, SentenceTransformerMiniLM, minilm_dir

    texts = guide_chunks(load_settings(env={}), ROOT / "knowledge")
    started = time.perf_counter()
    if runtime == "onnx":
        model = OnnxMiniLM(minilm_dir(), cache_dir=Path(cache), batch_size=batch, threads=threads)
    else:
        model = SentenceTransformerMiniLM(minilm_dir(), batch_size=batch, threads=threads)
    load_s = time.perf_counter() - started
    model.encode(texts[:batch])
    started = time.perf_counter()
    model.encode(texts)
    seconds = time.perf_counter() - started
    return {"chunks": len(texts), "load_s": load_s, "chunks_per_s": len(texts) / seconds}


def _spin() -> None:
    while True:
        pass


def run_child(runtime: str, threads: int, batch: int, cache: Path, busy: int) -> dict:
    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(busy)]
    for h in hogs:
        h.start()
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", runtime, str(threads), str(batch), str(cache)],
                              cwd=ROOT, capture_output=True, text=True, timeout=1800,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
    finally:
        for h in hogs:
            h.terminate()
            h.join()
    if proc.returncode != 0:
        raise SystemExit(f"{runtime} threads={threads} failed:\n{proc.stderr[-1500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runtimes", nargs="+", default=["onnx", "sentence-transformers"],
                    choices=["onnx", "sentence-transformers"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--batch", nargs="+", type=int, default=[8])
    ap.add_argument("--busy", nargs="+", type=int, default=[0, 1], help="busy-looping processes beside the run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        runtime, threads, batch, cache = args.child
        print(json.dumps(child(runtime, int(threads), int(batch), cache)))
        return 0

    runtimes = list(args.runtimes)
    if "sentence-transformers" in runtimes:
        import importlib.util

        if importlib.util.find_spec("sentence_transformers") is None:
            print("sentence-transformers is not installed (its extra): skipped", file=sys.stderr)
            runtimes.remove("sentence-transformers")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        build_s = None
        if "onnx" in runtimes:  # the first use writes the graph; later loads read the cached file
            build_s = run_child("onnx", 1, 8, cache, 0)["load_s"]
        for busy in args.busy:
            for runtime in runtimes:
                for threads in args.threads:
                    for batch in args.batch:
                        runs = [run_child(runtime, threads, batch, cache, busy) for _ in range(args.repeats)]
                        rates = [r["chunks_per_s"] for r in runs]
                        rows.append({"runtime": runtime, "threads": threads, "batch": batch, "busy": busy,
                                     "chunks": runs[0]["chunks"],
                                     "chunks_per_s": round(statistics.median(rates), 1),
                                     "min": round(min(rates), 1), "max": round(max(rates), 1),
                                     "load_s": round(statistics.median(r["load_s"] for r in runs), 2)})
                        print(f"{rows[-1]}", file=sys.stderr)
    cols = ["runtime", "threads", "batch", "busy", "chunks", "chunks_per_s", "min", "max", "load_s"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in cols) + " |")
    if build_s is not None:
        print(f"\nonnx graph build at first use (then cached): {build_s:.2f} s")
    print(f"\nMedians of {args.repeats} runs; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other processes make these noisy). Goal: the default config >= 25 chunks/s on knowledge/, quiet machine.")
    out = ROOT / "evals" / "results" / "bench_embed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "build_s": build_s, "cpu_count": os.cpu_count(),
                               "loadavg_end": os.getloadavg()[0]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
