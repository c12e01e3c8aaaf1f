"""Calibrate ask's first passage: the weight of the ranker of sections by the questions their guides
say they answer (config.yaml `retrieval.asked_weight`, front matter `asked:`), then the sentence rerank
(`sentence_weight`, `rerank_depth`), the weight of a guide's opening overview against its sections
(`overview_weight`) and then the boost of guides about a detail the question names (`detail_boost`).

    MLBOT_DATA_DIR=<dir with knowledge/ ingested> python evals/calibrate_retrieval.py [--dev DIR] [--write]

An extractive answer covers the facts a question needs when it leads with the section that holds them
(evals/answer_quality.py: on the dev and blind sets every missed fact was in an answer that led with
another section). So the measure is how often the expected section is the first passage `ask`
retrieves (Asker._retrieve: spelling, routing, topic boost, places, as in `ask`), with the mean
reciprocal rank of that section in the top 5 to break ties.

The asked-questions weight must keep guides without `asked:` on equal terms: on the library docs of
tests/data/library ingested beside a few shipped guides (tests/data/library_questions.yaml),
a weight is a candidate only while section recall@5 stays at least LIBRARY_RECALL (the goal for library
docs) and MRR at least LIBRARY_MRR.

Items: the answerable questions of `--dev` (default ../shared/devsets/ask/questions.yaml) and of
evals/questions/*.yaml; the blind set (evals/questions/blind) is held out and only reported. Every
setting of the grid is scored; the best on the development items is printed as config lines, and with
--write it replaces the two values in config.yaml (comments kept). Rerun after changing the guides,
the skill cards or the embedding model, and rerun evals/calibrate_ask.py after this one (the decline
evidence reads the first passage).
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "evals"))

from answer_quality import load_items  # noqa: E402

from bot.app import Core  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.knowledge import conversation  # noqa: E402

LIBRARY_RECALL, LIBRARY_MRR = 0.95, 0.9
ASKED = [0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0]
DETAILS = [0.0, 0.05, 0.1, 0.2, 0.3]
WEIGHTS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
DEPTHS = [2, 3, 4, 5]
OVERVIEWS = [1.0, 0.8, 0.6, 0.4, 0.2]


def prepared(asker, items: list[dict]) -> list[tuple]:
    """The turn, question vector and route of each question (they do not depend on the rerank)."""
    parts = asker.parts(asker.kb.retriever.refresh())
    out = []
    for item in items:
        turn = conversation.interpret(parts.read(item["question"]), [], parts.vocab)
        qvec = asker._query_vector(turn)
        out.append((item, turn, qvec, asker.kb.router.route(qvec), parts))
    return out


def rank_of(hits, item: dict) -> int | None:
    want = str(item["section"]).strip().lower()
    for i, h in enumerate(hits):
        if str(h.meta.get("source", "")).endswith(item["guide"]) and \
                h.section.split(" > ")[-1].strip().lower() == want:
            return i
    return None


def score(asker, rows: list[tuple]) -> tuple[float, float]:
    """(share of questions whose first passage is the expected section, mean reciprocal rank in the top 5)."""
    first = mrr = 0.0
    for item, turn, qvec, route, parts in rows:
        _, hits, _ = asker._retrieve(turn, qvec, route.skill, parts, route)
        r = rank_of(hits, item)
        first += r == 0
        mrr += 1.0 / (r + 1) if r is not None else 0.0
    n = max(1, len(rows))
    return first / n, mrr / n


def library_recall(weights: list[float]) -> dict[float, dict]:
    """Section recall@1, recall@5 and MRR of the library-docs questions (docs without front matter beside
    shipped guides) at each asked-questions weight."""
    import shutil
    import tempfile

    import yaml
    from eval_library import evaluate

    from tests.conftest import SMALL_GUIDES

    with tempfile.TemporaryDirectory() as tmp:
        guides = Path(tmp) / "guides"
        for rel in SMALL_GUIDES:
            (guides / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / "knowledge" / rel, guides / rel)
        core = Core(load_settings(data_dir=Path(tmp) / "data", env={}))
        core.ingest([guides, ROOT / "tests" / "data" / "library"])
        questions = yaml.safe_load((ROOT / "tests" / "data" / "library_questions.yaml").read_text(
            encoding="utf-8"))["questions"]
        out = {}
        for w in weights:
            object.__setattr__(core.settings.retrieval, "asked_weight", w)
            out[w] = evaluate(core, questions)["summary"]
        core.close()
    return out


def write(path: Path, weight: float, depth: int, overview: float, detail: float, asked: float) -> None:
    """Replace the five values in config.yaml's retrieval section, keeping the comments."""
    text = path.read_text(encoding="utf-8")
    start = text.index("\nretrieval:")
    end = text.find("\n\n", start + 1)
    block = re.sub(r"(?m)^(  sentence_weight: )[-0-9.]+", rf"\g<1>{weight:g}", text[start:end])
    block = re.sub(r"(?m)^(  rerank_depth: )\d+", rf"\g<1>{depth}", block)
    block = re.sub(r"(?m)^(  overview_weight: )[-0-9.]+", rf"\g<1>{overview:g}", block)
    block = re.sub(r"(?m)^(  detail_boost: )[-0-9.]+", rf"\g<1>{detail:g}", block)
    block = re.sub(r"(?m)^(  asked_weight: )[-0-9.]+", rf"\g<1>{asked:.1f}", block)
    path.write_text(text[:start] + block + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "devsets" / "ask" / "questions.yaml")
    parser.add_argument("--write", action="store_true", help="write the best values into config.yaml")
    args = parser.parse_args(argv)
    core = Core(load_settings())
    asker = core.knowledge.asker
    dev = prepared(asker, load_items([args.dev, ROOT / "evals" / "questions"]))
    blind = prepared(asker, load_items([ROOT / "evals" / "questions" / "blind"]))
    cfg = core.settings.retrieval
    # First the asked-questions ranker, with the other settings as they are (the mildest among equals).
    library = library_recall(ASKED)
    asks = []
    for a in ASKED:
        object.__setattr__(cfg, "asked_weight", a)
        asks.append((a, *score(asker, dev), *score(asker, blind), library[a]))
    print("| asked_weight | dev first | dev mrr@5 | blind first | blind mrr@5 | library recall@1 | recall@5 | mrr |\n"
          "|---|---|---|---|---|---|---|---|")
    for a, f1, m1, f2, m2, lib in asks:
        print(f"| {a:g} | {f1:.3f} | {m1:.3f} | {f2:.3f} | {m2:.3f} | {lib['recall@1']:.3f} | {lib['recall@5']:.3f} "
              f"| {lib['mrr']:.3f} |")
    fair = [r for r in asks if r[5]["recall@5"] >= LIBRARY_RECALL and r[5]["mrr"] >= LIBRARY_MRR] or asks[:1]
    asked = max(fair, key=lambda r: (round(r[1], 6), round(r[2], 6), -r[0]))[0]
    object.__setattr__(cfg, "asked_weight", asked)
    print()
    results = []
    for overview, weight, depth in itertools.product(OVERVIEWS, WEIGHTS, DEPTHS):
        if weight == 0 and depth != DEPTHS[0]:
            continue  # no rerank: the depth does not matter
        object.__setattr__(cfg, "overview_weight", overview)
        object.__setattr__(cfg, "sentence_weight", weight)
        object.__setattr__(cfg, "rerank_depth", depth)
        results.append((overview, weight, depth, *score(asker, dev), *score(asker, blind)))
    print(f"{len(dev)} development questions, {len(blind)} blind (held out, reported only)\n")
    print("| overview_weight | sentence_weight | rerank_depth | dev first | dev mrr@5 | blind first | blind mrr@5 |")
    print("|---|---|---|---|---|---|---|")
    for o, w, d, f1, m1, f2, m2 in results:
        print(f"| {o:g} | {w:g} | {d} | {f1:.3f} | {m1:.3f} | {f2:.3f} | {m2:.3f} |")
    # Best first passage, then MRR; among equals the mildest change (overview weight near 1, light rerank).
    best = max(results, key=lambda r: (round(r[3], 6), round(r[4], 6), r[0], -r[1]))
    # Then, with those, the boost of guides about a detail the question names (the mildest among equals).
    object.__setattr__(cfg, "overview_weight", best[0])
    object.__setattr__(cfg, "sentence_weight", best[1])
    object.__setattr__(cfg, "rerank_depth", best[2])
    details = []
    for boost in DETAILS:
        object.__setattr__(cfg, "detail_boost", boost)
        details.append((boost, *score(asker, dev), *score(asker, blind)))
    print("\n| detail_boost | dev first | dev mrr@5 | blind first | blind mrr@5 |\n|---|---|---|---|---|")
    for b, f1, m1, f2, m2 in details:
        print(f"| {b:g} | {f1:.3f} | {m1:.3f} | {f2:.3f} | {m2:.3f} |")
    detail = max(details, key=lambda r: (round(r[1], 6), round(r[2], 6), -r[0]))[0]
    print(f"\nconfig.yaml retrieval:\n  asked_weight: {asked:g}\n  overview_weight: {best[0]:g}\n"
          f"  sentence_weight: {best[1]:g}\n"
          f"  rerank_depth: {best[2]}\n  detail_boost: {detail:g}")
    if args.write:
        write(core.settings.config_dir / "config.yaml", best[1], best[2], best[0], detail, asked)
        print("written to config.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
