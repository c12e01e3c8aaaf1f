"""Calibrate the extractive answer weights (`compose` in config.yaml) on question sets.

    python evals/calibrate_compose.py [QUESTIONS ...] [--data-dir DIR] [--grid small|full] [--max-irrelevant 0.10]

Retrieval runs once per question (routing and topic boost as in `ask`); then every weight setting of
the grid composes the answers from the same passages, and each is scored with evals/answer_quality.py:
must-mention coverage and the share of irrelevant sentences. The best setting is the one with the
highest coverage among those whose irrelevant share is at most --max-irrelevant (else the lowest
share); it is printed as a `compose:` block for config.yaml with the table of the top settings.
Default sets: evals/questions/ (our own questions); pass ../shared/devsets/ask/questions.yaml as well to
calibrate on what users type (the blind set in evals/questions/blind stays held out). When no setting
reaches --max-irrelevant, the lowest share wins, and the higher coverage among equal shares.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "evals"))

from answer_quality import label_answer, load_items, summarise  # noqa: E402
from calibrate_retrieval import prepared  # noqa: E402

from bot.app import Core  # noqa: E402
from bot.config import Compose, load_settings  # noqa: E402
from bot.knowledge.compose import compose, extract, footer  # noqa: E402
from bot.knowledge.retrieve import whole_sections  # noqa: E402

# `sem` stays 0 in the default grid: embedding every candidate sentence costs most of an answer's time
# (about 1 s for 15 sentences on a busy 2-core machine) against a 100 ms goal, and gains little (see
# the `full` grid, which weighs it).
GRIDS = {
    "small": {"sem": [0.0], "lex": [0.3, 0.6], "lead": [0.1], "prior": [1.5, 2.0], "support": [0.6],
              "other": [0.9, 0.95], "same_guide": [0.5, 0.7, 0.9], "same_guide_max": [1, 2], "duplicate_words": [0.7],
              "whole_sections": [0, 1]},
    "full": {"sem": [0.0, 0.55], "lex": [0.3, 0.45, 0.6], "lead": [0.05, 0.1, 0.2], "prior": [1.0, 1.5, 2.0],
             "support": [0.5, 0.6, 0.7], "other": [0.85, 0.9, 0.95], "lead_share": [0.7, 0.85],
             "other_gain": [0.0, 0.3], "other_max": [1, 2], "same_guide": [0.5, 0.7, 0.9], "same_guide_max": [1, 2],
             "duplicate_words": [0.5, 0.7], "whole_sections": [0, 1, 4]},
}


def contexts(core: Core, items: list[dict]) -> list[dict]:
    """What compose sees for each question: the passages ask retrieves (spelling, routing, topic boost,
    places and the sentence rerank, as in `ask`), the card and the question vector."""
    asker = core.knowledge.asker
    out = []
    for item, turn, qvec, route, parts in prepared(asker, items):
        # The passages as retrieved: each setting reads its own `whole_sections` of them.
        _, hits, _ = asker._retrieve(turn, qvec, route.skill, parts, route)
        out.append({"item": {**item, "question": turn.standalone}, "qvec": qvec, "card": route.skill, "hits": hits})
    return out


def answers(core: Core, ctxs: list[dict], weights: Compose) -> list[dict]:
    kb, cfg = core.knowledge, core.settings.answer
    bm25 = kb.retriever.corpus().bm25
    rows = []
    for c in ctxs:
        hits = whole_sections(c["hits"], kb.retriever.corpus(), weights.whole_sections)
        tail = footer(c["card"], hits)
        picked = extract(c["item"]["question"], c["qvec"], hits, kb.sentence_vectors, bm25,
                         max_sentences=cfg.max_sentences, max_chars=cfg.max_chars - len(tail) - 20, weights=weights)
        body, cited = compose(picked, hits)
        result = {"answer": body + tail, "sources": [h.source_dict() for h in cited], "declined": not picked}
        rows.append(label_answer(result, c["item"]))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", type=Path, default=[ROOT / "evals" / "questions"])
    ap.add_argument("--data-dir", type=Path, help="an index to use (default: ingest knowledge/ into a temp dir)")
    ap.add_argument("--grid", choices=sorted(GRIDS), default="small")
    ap.add_argument("--max-irrelevant", type=float, default=0.10)
    args = ap.parse_args(argv)
    items = load_items(args.sets)
    with tempfile.TemporaryDirectory() as tmp:
        core = Core(load_settings(data_dir=args.data_dir or Path(tmp) / "data", env={}))
        if not args.data_dir:
            core.ingest([ROOT / "knowledge"])
        base = core.settings.compose
        cap = core.settings.answer.max_sentences
        ctxs = contexts(core, items)
        grid = GRIDS[args.grid]
        results = []
        for values in itertools.product(*grid.values()):
            weights = base.model_copy(update=dict(zip(grid, values, strict=True)))
            s = summarise(answers(core, ctxs, weights), cap)
            results.append((weights, s))
        current = summarise(answers(core, ctxs, base), cap)
        core.close()
    ok = [r for r in results if r[1]["irrelevant_share"] <= args.max_irrelevant]
    ranked = sorted(ok, key=lambda r: (-r[1]["coverage"], r[1]["irrelevant_share"])) if ok else sorted(results, key=lambda r: (round(r[1]["irrelevant_share"], 3), -r[1]["coverage"]))
    # The trade-off: each setting no other setting beats on both coverage and irrelevant share.
    front = [r for r in results if not any(o[1]["coverage"] >= r[1]["coverage"] and
                                           o[1]["irrelevant_share"] < r[1]["irrelevant_share"] for o in results)]
    ranked += [r for r in sorted(front, key=lambda r: r[1]["irrelevant_share"]) if r not in ranked]
    print(f"{len(items)} questions, {len(results)} settings; config.yaml now: coverage {current['coverage']:.3f}, "
          f"irrelevant {current['irrelevant_share']:.3f}, {current['per_answer']} sentences per answer")
    print("| " + " | ".join(grid) + " | coverage | irrelevant | per answer | at the cap |")
    print("|" + "---|" * (len(grid) + 4))
    for weights, s in ranked[:16]:
        print("| " + " | ".join(str(getattr(weights, k)) for k in grid) +
              f" | {s['coverage']:.3f} | {s['irrelevant_share']:.3f} | {s['per_answer']} | {s['at_cap']}/{s['answers']} |")
    best = ranked[0][0]
    print("\ncompose:")
    for k, v in best.model_dump().items():
        print(f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
