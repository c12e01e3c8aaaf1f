"""Calibrate the ask decline decisions (config.yaml `decline:`) on development sets, and say why.

    MLBOT_DATA_DIR=<dir with knowledge/ ingested> python evals/calibrate_ask.py [--dev DIR] [--write]

Development items (never the blind set in evals/questions/blind, which stays held out):
- `--dev` (default ../shared/devsets/ask): questions.yaml, answerable items and declines by category;
- evals/questions/*.yaml: answerable questions; out_of_scope.yaml declines (ids with "uncovered" are
  in the remit but not covered, the others outside it);
- evals/questions/calibration/questions.yaml: more declines of both kinds, in the dev-set format.

Each question is probed on its own (Asker.probe: the measures `ask` decides on). Then:
1. remit_margin: the gap by which a card of questions to decline beats every answering skill. It is
   put halfway between the largest gap of an answerable question and the next gap of a question to
   decline above it (the widest margin that declines no answerable question of the set).
2. weights and threshold: a logistic regression of answerable vs to-decline on the six evidence
   measures of the questions the remit margin lets through; the threshold is halfway between the
   lowest score of an answerable question (allowing `--max-false` of them below) and the highest score
   of a question to decline beneath it.
3. min_remit_route: among the questions the evidence declines, the similarity to the closest skill's
   examples below which the reason is "outside the remit" (best split of remit vs coverage items).
4. follow_up_threshold: the same midpoint rule on the follow-up turns of the development conversations
   (--dev conversations.yaml and evals/questions/calibration/conversations.yaml), asked in order; a
   follow-up's query blends in the question it refers to, so its scores sit lower. Never above the
   single-question threshold. follow_up_remit_margin: the remit margin's midpoint rule on the follow-ups
   that refer back (a line like "so what now?" is near no card on its own).
5. own_subject_threshold: a `context` follow-up with at least `own_subject_words` words of its own is
   also judged on its own line, unblended ("and which crm should they use to log the answers?" is near
   the earlier question blended, near nothing alone); the midpoint rule on those lines of the
   development conversations.
With --write the values replace those in config.yaml (comments kept).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import Core  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.knowledge.decide import Evidence  # noqa: E402

REMIT = ("off_topic", "outside_remit", "injection")
FEATURES = ("dense", "sentence", "lexical", "route", "unknown", "asked")


def items(dev: Path) -> list[dict]:
    out = []
    for q in (yaml.safe_load((dev / "questions.yaml").read_text(encoding="utf-8")) or {}).get("questions", []):
        label = "answer" if q["expected"] == "answer" else ("remit" if q.get("category") in REMIT else "coverage")
        out.append({"id": q["id"], "question": q["question"], "label": label, "set": "dev"})
    for f in sorted((ROOT / "evals" / "questions").glob("*.yaml")):
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        out += [{"id": q["id"], "question": q["question"], "label": "answer", "set": f.stem}
                for q in data.get("questions") or []]
        out += [{"id": q["id"], "question": q["question"], "label": "coverage" if "uncovered" in q["id"] else "remit",
                 "set": f.stem} for q in data.get("out_of_scope") or []]
    extra = ROOT / "evals" / "questions" / "calibration" / "questions.yaml"
    if extra.is_file():
        for q in (yaml.safe_load(extra.read_text(encoding="utf-8")) or {}).get("questions", []):
            label = "answer" if q["expected"] == "answer" else ("remit" if q.get("category") in REMIT else "coverage")
            out.append({"id": q["id"], "question": q["question"], "label": label, "set": "calibration"})
    return out


def midpoint_above(low_side: list[float], high_side: list[float]) -> float:
    """Halfway between the largest of `low_side` and the smallest of `high_side` above it."""
    top = max(low_side)
    above = [v for v in high_side if v > top]
    return (top + min(above)) / 2 if above else top + 0.01


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "devsets" / "ask")
    parser.add_argument("--max-false", type=float, default=0.0, help="share of answerable questions the "
                        "evidence threshold may decline on the development items (default 0: a threshold that "
                        "gives up one dev question sits closer to the answerable ones, and on the blind set "
                        "it declined more answerable questions without declining more of the rest)")
    parser.add_argument("--write", action="store_true", help="write the values into config.yaml")
    parser.add_argument("--show", action="store_true", help="print every question's measures")
    args = parser.parse_args(argv)
    core = Core(load_settings())
    asker = core.knowledge.asker
    rows = items(args.dev)
    for r in rows:
        p = asker.probe(r["question"])
        r["gap"], r["place"] = p["remit_gap"], p["place_not_covered"]
        r.update({f: getattr(p["evidence"], f) for f in FEATURES})
    if args.show:
        for r in sorted(rows, key=lambda r: (r["label"], -r["gap"])):
            print(f"{r['label']:9} {r['id']:32} gap {r['gap']:+.3f} " + " ".join(f"{f} {r[f]:.3f}" for f in FEATURES)
                  + f"  {r['question'][:60]}")
    n = {k: sum(r["label"] == k for r in rows) for k in ("answer", "remit", "coverage")}
    print(f"{len(rows)} development questions: {n['answer']} answerable, {n['remit']} outside the remit, "
          f"{n['coverage']} in the remit but not covered")

    # 1. Remit margin, on the questions and on the conversation turns with a subject of their own (a
    # line in a thread is checked against the decline cards the same way).
    spoken = [t for t in follow_ups(core, args.dev, every=True) if t["own_gap"] is not None]
    pool = [*({"id": r["id"], "label": r["label"], "gap": r["gap"]} for r in rows),
            *({"id": t["id"], "label": t["label"], "gap": t["own_gap"]} for t in spoken)]
    answer_gaps = [r["gap"] for r in pool if r["label"] == "answer"]
    margin = midpoint_above(answer_gaps, [r["gap"] for r in pool if r["label"] != "answer"])
    caught = [r for r in rows if r["label"] == "remit" and r["gap"] > margin]
    worst = max((r for r in pool if r["label"] == "answer"), key=lambda r: r["gap"])
    print(f"\n1. remit_margin = {margin:.3f} on {len(rows)} questions and {len(spoken)} conversation turns with "
          f"their own subject: the closest answerable line to a decline card is {worst['id']} "
          f"(gap {worst['gap']:.3f}); {len(caught)} of {n['remit']} outside-remit questions are past the margin.")

    # 2. Evidence weights and threshold, on what the remit margin lets through.
    from sklearn.linear_model import LogisticRegression

    placed = [r for r in rows if r["gap"] <= margin and r["place"]]
    wrong = [r["id"] for r in placed if r["label"] == "answer"]
    print(f"   {len(placed)} more are declined because they ask about a place no candidate guide covers "
          f"({', '.join(r['id'] for r in placed)}); answerable among them: {', '.join(wrong) or 'none'}")
    rest = [r for r in rows if r["gap"] <= margin and not r["place"]]
    x = np.array([[r[f] for f in FEATURES] for r in rest])
    y = np.array([r["label"] == "answer" for r in rest])
    model = LogisticRegression(C=1.0, class_weight="balanced").fit(x, y)
    w = model.coef_[0] / np.abs(model.coef_[0]).sum()  # scaled so the weights' sizes sum to 1
    scores = x @ w
    ans = np.sort(scores[y])
    allowed = int(args.max_false * len(ans))
    low = ans[allowed]  # the lowest answerable score kept above the threshold
    below = scores[~y][scores[~y] < low]
    threshold = float((low + below.max()) / 2) if below.size else float(low - 0.005)
    false = [r["id"] for r, s in zip(rest, scores, strict=True) if r["label"] == "answer" and s < threshold]
    kept = [r["id"] for r, s in zip(rest, scores, strict=True) if r["label"] != "answer" and s >= threshold]
    print(f"\n2. evidence = {' + '.join(f'{v:.3f} x {f}' for v, f in zip(w, FEATURES, strict=True))}; "
          f"threshold = {threshold:.3f}")
    print(f"   on {len(rest)} questions: declines {len(false)} answerable ({', '.join(false) or 'none'}); "
          f"answers {len(kept)} to decline ({', '.join(kept) or 'none'})")

    # 3. The reason of an evidence decline.
    declined = [r for r, s in zip(rest, scores, strict=True) if r["label"] != "answer" and s < threshold]
    cuts = sorted({round(r["route"], 3) for r in declined})
    best = (0.0, -1)
    for c in [cuts[0] - 0.01, *[(a + b) / 2 for a, b in zip(cuts, cuts[1:], strict=False)], cuts[-1] + 0.01] if cuts else []:
        right = sum((r["route"] < c) == (r["label"] == "remit") for r in declined)
        if right > best[1]:
            best = (c, right)
    min_route = round(best[0], 3)
    print(f"\n3. min_remit_route = {min_route:.3f}: {best[1]} of {len(declined)} evidence declines get the "
          "expected reason (remit below it, coverage above)")

    # 4. The threshold for follow-ups, on conversations asked in order (the weights above).
    core.settings.decline.weights = type(core.settings.decline.weights)(
        **{f: float(v) for f, v in zip(FEATURES, w, strict=True)})
    turns = follow_ups(core, args.dev)
    gaps_ok = [t["gap"] for t in turns if t["gap"] is not None and t["label"] == "answer"]
    gaps_off = [t["gap"] for t in turns if t["gap"] is not None and t["label"] == "remit"]
    follow_margin = max(midpoint_above(gaps_ok, gaps_off), margin) if gaps_ok else margin
    missed = [t["id"] for t in turns if t["gap"] is not None and t["label"] == "remit" and t["gap"] <= follow_margin]
    print(f"\n4. follow_up_remit_margin = {follow_margin:.3f} on {len(gaps_ok)} answerable and {len(gaps_off)} "
          f"outside-remit follow-ups that refer back (fewer than follow_up_subject_words words of their own); "
          f"outside-remit ones under it: {', '.join(missed) or 'none'}")
    turns = [t for t in turns if t["score"] is not None]
    pos = [t["score"] for t in turns if t["label"] == "answer"]
    neg = [t["score"] for t in turns if t["label"] == "coverage"]
    pos_sorted = sorted(pos)
    low_f = pos_sorted[int(args.max_false * len(pos_sorted))] if pos_sorted else threshold
    below_f = [v for v in neg if v < low_f]
    follow = (low_f + max(below_f)) / 2 if below_f else low_f - 0.005
    follow = min(follow, threshold)
    false_f = [t["id"] for t in turns if t["label"] == "answer" and t["score"] < follow]
    kept_f = [t["id"] for t in turns if t["label"] == "coverage" and t["score"] >= follow]
    print(f"   follow_up_threshold = {follow:.3f} on {len(pos)} answerable and {len(neg)} not-covered follow-ups "
          f"(their evidence has the context blended in): declines {len(false_f)} answerable "
          f"({', '.join(false_f) or 'none'}); answers {len(kept_f)} not covered ({', '.join(kept_f) or 'none'})")

    # 5. Follow-ups with a subject of their own, judged on their own line (the thresholds above).
    core.settings.decline.threshold, core.settings.decline.follow_up_threshold = threshold, follow
    core.settings.decline.own_subject_threshold = -10.0  # collect every line's own evidence
    own = [t for t in follow_ups(core, args.dev) if t["own_score"] is not None]
    own_ok = sorted(t["own_score"] for t in own if t["label"] == "answer")
    own_off = [t["own_score"] for t in own if t["label"] == "coverage"]
    low_o = own_ok[int(args.max_false * len(own_ok))] if own_ok else -10.0
    below_o = [v for v in own_off if v < low_o]
    own_threshold = (low_o + max(below_o)) / 2 if below_o else low_o - 0.005
    caught_o = [t["id"] for t in own if t["label"] == "coverage" and t["own_score"] < own_threshold]
    print(f"\n5. own_subject_threshold = {own_threshold:.3f} on {len(own_ok)} answerable and {len(own_off)} "
          f"not-covered follow-ups with {core.settings.decline.own_subject_words}+ words of their own: "
          f"declines {', '.join(caught_o) or 'none'}; lowest answerable {low_o:.3f}")

    values = dict(zip(FEATURES, (float(v) for v in w), strict=True))
    block = (f"  weights: {{{', '.join(f'{k}: {v:.3f}' for k, v in values.items())}}}\n"
             f"  threshold: {threshold:.3f}\n  follow_up_threshold: {follow:.3f}\n  remit_margin: {margin:.3f}\n"
             f"  follow_up_remit_margin: {follow_margin:.3f}\n  min_remit_route: {min_route:.3f}\n"
             f"  own_subject_threshold: {own_threshold:.3f}")
    print("\nconfig.yaml decline:\n" + block)
    if args.write:
        write(ROOT / "config.yaml", values, threshold, follow, margin, follow_margin, min_route, own_threshold)
        print("written to config.yaml")
    return 0


def follow_ups(core, dev: Path, *, every: bool = False) -> list[dict]:
    """Every follow-up turn of the development conversations (with `every`, every turn), with its
    evidence score, its label and its remit gap (`gap` for a follow-up that refers back, `own_gap` for
    a line with a subject of its own)."""
    files = [dev / "conversations.yaml", ROOT / "evals" / "questions" / "calibration" / "conversations.yaml"]
    out = []
    for f in files:
        if not f.is_file():
            continue
        for c in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("conversations", []):
            conv = None
            for n, turn in enumerate(c["turns"], 1):
                result = core.ask(turn["question"], user_id="calibrate", conversation_id=conv)
                conv = conv or result["conversation_id"]
                meta = core.store.turns(conv, 1)[-1]["meta"]
                if not every and (n == 1 or meta.get("kind") == "standalone"):
                    continue
                label = ("answer" if turn["expected"] == "answer" else
                         "remit" if turn.get("category") in REMIT else "coverage")
                score = Evidence(**meta["evidence"]).score(core.settings) if "evidence" in meta else None
                refers_back = meta.get("own_words", 0) < core.settings.decline.follow_up_subject_words
                out.append({"id": f"{c['id']}.{n}", "label": label, "kind": meta.get("kind"), "score": score,
                            "gap": meta.get("remit_gap") if refers_back else None,
                            "own_gap": None if refers_back else meta.get("remit_gap"),
                            "own_score": Evidence(**meta["own_evidence"]).score(core.settings)
                            if "own_evidence" in meta else None})
    return out


def write(path: Path, weights: dict, threshold: float, follow: float, margin: float, follow_margin: float,
          min_route: float, own_threshold: float) -> None:
    """Replace the calibrated values in config.yaml's decline section, keeping its comments in place."""
    text = path.read_text(encoding="utf-8")
    values = {"weights": "{" + ", ".join(f"{k}: {v:.3f}" for k, v in weights.items()) + "}",
              "threshold": f"{threshold:.3f}", "follow_up_threshold": f"{follow:.3f}",
              "remit_margin": f"{margin:.3f}", "follow_up_remit_margin": f"{follow_margin:.3f}",
              "min_remit_route": f"{min_route:.3f}", "own_subject_threshold": f"{own_threshold:.3f}"}
    start = text.index("\ndecline:")
    end = text.find("\n\n", start + 1)
    lines = text[start:end].split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"^  (\w+): (\{[^}]*\}|[-0-9.]+)( *)(#.*)?$", line)
        if m and m.group(1) in values:
            head = f"  {m.group(1)}: {values[m.group(1)]}"
            width = len(line) - len(m.group(4) or "")
            lines[i] = head + (" " * max(1, width - len(head)) + m.group(4) if m.group(4) else "")
    path.write_text(text[:start] + "\n".join(lines) + text[end:], encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
