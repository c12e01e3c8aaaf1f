"""Calibrate how a follow-up carries its conversation (config.yaml `conversations.context_weight`,
`conversations.previous_guide_boost`, `conversations.new_subject_share`, `conversations.changed_detail_share`).

    MLBOT_DATA_DIR=<dir with knowledge/ ingested> python evals/calibrate_conversations.py [--dev DIR] [--write]

A `context` follow-up ("and when the project ends, can i keep a copy?") keeps its own words; its
vector adds `context_weight` x the question it refers to, and the guides the previous answer cited
gain `previous_guide_boost` of their score; then `new_subject_share` (a follow-up naming a subject
its top passages lack, "what about GDPR?" after a day-rate question, is asked alone), then
`changed_detail_share` (the passages naming a detail a follow-up changed come first only when their
fused score reaches this share of the best one's: "and if the client is in germany?" after a DPA question
stays on the DPA, where a German guide about copyright names Germany). All are scored
on the conversations of the development sets (`--dev`, default ../shared/devsets/ask, and evals/questions/calibration), asked turn by turn as
users do (bot/knowledge/usereval.py): turns right first, then must-mention coverage. The blind set's
conversations (evals/questions/blind) are held out and only reported. With --write the best pair
(and share) replace the values in config.yaml (comments kept).
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import Core  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.knowledge import usereval  # noqa: E402

CONTEXT_WEIGHTS = [0.3, 0.5, 0.7, 1.0]
BOOSTS = [0.0, 0.3, 0.6, 1.0]
SHARES = [0.3, 0.5, 0.7, 1.01]  # conversations.new_subject_share; above 1 a follow-up never starts afresh
DETAIL_SHARES = [0.0, 0.5, 0.7, 0.85, 1.0]  # conversations.changed_detail_share


def conversation_ids(folder: Path) -> set[str]:
    return {str(c.get("id")) for c in usereval.load(folder)[1]}


def score(core, folders: list[Path]) -> tuple[int, int, int, int]:
    """(turns right, turns, facts covered, facts) over the conversations of the folders."""
    right = turns = covered = facts = 0
    for folder in folders:
        result = usereval.run(core, folder, only=conversation_ids(folder))
        for conv in result["conversations"]:
            for t in conv["turns"]:
                right, turns = right + bool(t["right"]), turns + 1
                covered, facts = covered + t["facts_covered"], facts + t["facts"]
    return right, turns, covered, facts


def write(path: Path, context_weight: float, boost: float, share: float, detail: float) -> None:
    text = path.read_text(encoding="utf-8")
    start = text.index("\nconversations:")
    end = text.find("\n\n", start + 1)
    block = text[start:end]
    for key, value in (("context_weight", context_weight), ("previous_guide_boost", boost),
                       ("new_subject_share", share), ("changed_detail_share", detail)):
        # the value keeps its field's width, so the comments stay aligned
        block = re.sub(rf"(?m)^(  {key}: )([-0-9.]+ *)", lambda m, v=value: m[1] + f"{v:g}".ljust(len(m[2])), block)
    path.write_text(text[:start] + block + text[end:], encoding="utf-8")


def _grid(core, cfg, key: str, values, dev, held, *, middle: float) -> float:
    """Score each value of one conversations setting on the dev and held-out turns, print the table, and set
    and return the best on dev (most turns right, then facts; ties: the value nearest `middle`)."""
    rows = []
    for value in values:
        object.__setattr__(cfg, key, value)
        rows.append((value, score(core, dev), score(core, held)))
    print(f"\n| {key} | dev turns right | dev facts | blind+followups turns right | blind+followups facts |")
    print("|---|---|---|---|---|")
    for v, d, h in rows:
        print(f"| {v:g} | {d[0]}/{d[1]} | {d[2]}/{d[3]} | {h[0]}/{h[1]} | {h[2]}/{h[3]} |")
    best = max(rows, key=lambda r: (r[1][0], r[1][2], -abs(r[0] - middle)))[0]
    object.__setattr__(cfg, key, best)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "devsets" / "ask")
    parser.add_argument("--write", action="store_true", help="write the best values into config.yaml")
    args = parser.parse_args(argv)
    core = Core(load_settings())
    dev = [args.dev, ROOT / "evals" / "questions" / "calibration"]
    blind = [ROOT / "evals" / "questions" / "blind"]
    cfg = core.settings.conversations
    rows = []
    for weight, boost in itertools.product(CONTEXT_WEIGHTS, BOOSTS):
        object.__setattr__(cfg, "context_weight", weight)
        object.__setattr__(cfg, "previous_guide_boost", boost)
        rows.append((weight, boost, score(core, dev), score(core, blind)))
        print(f"context_weight {weight:g}, previous_guide_boost {boost:g}: done", file=sys.stderr)
    print("| context_weight | previous_guide_boost | dev turns right | dev facts | blind turns right | blind facts |")
    print("|---|---|---|---|---|---|")
    for w, b, d, h in rows:
        print(f"| {w:g} | {b:g} | {d[0]}/{d[1]} | {d[2]}/{d[3]} | {h[0]}/{h[1]} | {h[2]}/{h[3]} |")
    best = max(rows, key=lambda r: (r[2][0], r[2][2], -abs(r[0] - 0.5), -r[1]))
    # Then, with that pair, the share of a follow-up's own subject its top passages must have for it to stay
    # on the question before (evals/questions/followups is reported beside the blind set).
    object.__setattr__(cfg, "context_weight", best[0])
    object.__setattr__(cfg, "previous_guide_boost", best[1])
    held = [*blind, ROOT / "evals" / "questions" / "followups"]
    share = _grid(core, cfg, "new_subject_share", SHARES, dev, held, middle=0.5)
    # the middle of the best run of values (ties: the one nearest 0.7, a margin either side)
    detail = _grid(core, cfg, "changed_detail_share", DETAIL_SHARES, dev, held, middle=0.7)
    print(f"\nconfig.yaml conversations:\n  context_weight: {best[0]:g}\n  previous_guide_boost: {best[1]:g}\n"
          f"  new_subject_share: {share:g}\n  changed_detail_share: {detail:g}")
    if args.write:
        write(core.settings.config_dir / "config.yaml", best[0], best[1], share, detail)
        print("written to config.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
