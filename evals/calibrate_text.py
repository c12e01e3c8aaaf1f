"""Measure the text frame's TF-IDF settings (config.yaml scope.text) on text tables.

    .venv/bin/python evals/calibrate_text.py [--csv FILE:TARGET ...] [--folds K]

Without --csv it generates two tables of its own (none of them the dev corpus): product reviews (sentiment
from a few words in 10-20 words of filler, some typos) and support tickets (a short subject with typos plus
a long body of boilerplate; the queue follows the subject). With --csv it measures those files instead
(e.g. the dev corpus's text cases, to see where the product stands; do not tune to them).

Each file goes through the report's own stages (load, understand: target, frame, features, folds); then
only the TF-IDF model is cross-validated for each variant: the character n-gram cut-off
(char_max_median_chars: 0 = words only, the configured value, unlimited = characters on every column), the
word token pattern (the configured one vs sklearn's default, which drops one-character tokens) and each C;
with ordered classes (numbers in every label), tfidf_ordinal for a few C as well.
Prints the headline metric (mean over folds) and the seconds per fold, one row per variant.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings  # noqa: E402
from bot.scoping import baselines as bl  # noqa: E402
from bot.scoping import report as rp  # noqa: E402
from bot.scoping.features import build_matrix, sample_rows  # noqa: E402
from bot.scoping.text import hash_texts, ordinal_ranks, plan_text, with_text  # noqa: E402
from bot.scoping.worker import ScopeRequest  # noqa: E402

SKLEARN_TOKENS = r"(?u)\b\w\w+\b"


def reviews(rng: np.random.Generator, n: int = 1500) -> pd.DataFrame:
    good = ["great", "love it", "excellent", "fast delivery", "works perfectly", "recommend", "sturdy", "5 stars"]
    bad = ["broken", "refund", "disappointed", "stopped working", "poor quality", "late", "returned it", "1 star"]
    filler = ["the", "product", "arrived", "in", "a", "box", "it", "was", "this", "after", "a", "week", "and", "my",
              "order", "for", "our", "home"]
    rows = []
    for _ in range(n):
        positive = rng.random() < 0.5
        words = list(rng.choice(filler, rng.integers(10, 20))) + list(rng.choice(good if positive else bad, 1))
        words += list(rng.choice(bad if positive else good, rng.binomial(2, 0.3)))  # mixed feelings
        rng.shuffle(words)
        text = " ".join(words)
        if rng.random() < 0.3:  # a typo: two letters swapped
            i = int(rng.integers(1, len(text) - 2))
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        rows.append((text, rng.choice(["web", "app"]), "positive" if positive else "negative"))
    return pd.DataFrame(rows, columns=["review", "channel", "sentiment"])


def tickets(rng: np.random.Generator, n: int = 2000) -> pd.DataFrame:
    queues = {"billing": ["invoice", "refund", "charged twice", "payment failed"],
              "access": ["password reset", "locked out", "2fa code", "login error"],
              "delivery": ["parcel late", "wrong address", "tracking", "damaged box"]}
    opening = ["Hello team,", "Hi,", "Dear support,", "Good morning,"]
    middle = ["I am writing about my account.", "I have tried the help pages already.", "This is my second message.",
              "My order number is in the subject.", "I bought a gift for my sister last month."]
    closing = ["Please get back to me soon.", "Kind regards.", "Thanks in advance.", "Sent from my phone."]
    rows = []
    for i in range(n):
        q = list(queues)[rng.integers(3)]
        subject = str(rng.choice(queues[q])) if rng.random() < 0.8 else str(rng.choice(sum(queues.values(), [])))
        if rng.random() < 0.3:  # a typo: a letter dropped
            j = int(rng.integers(1, max(2, len(subject) - 1)))
            subject = subject[:j] + subject[j + 1:]
        subject = f"{rng.choice(['', 'Re: ', 'Fwd: ', 'URGENT '])}{subject} #{100000 + i}"
        body = " ".join([str(rng.choice(opening)), *rng.choice(middle, 3, replace=False), str(rng.choice(closing))])
        rows.append((subject, body, q))
    return pd.DataFrame(rows, columns=["subject", "body", "queue"])


def prepare(path: Path, target: str, settings) -> dict:
    limits = settings.scope
    request = ScopeRequest(path=str(path), data=None, filename=path.name, target=target, chart=False)
    options = rp.check_request(request, limits)
    loaded = rp.load(request, limits, lambda stage, info: None, None)
    found = rp.understand(loaded, request, options, limits)
    if not found.frame.text:
        raise SystemExit(f"{path.name}: no text column found (frame {found.frame.kind})")
    t = found.target
    sel = sample_rows(len(t.y), limits.selection_sample_rows, t.y, t.task, found.validation, limits.random_state)
    X = build_matrix(loaded.table.frame, found.features, t.rows[sel])
    splits = found.validation.split(X, t.y[sel], sel, t.task, limits.random_state)
    return {"frame": loaded.table.frame, "found": found, "rows": t.rows[sel], "X": X, "y": t.y[sel], "splits": splits}


def measure(d: dict, cfg, c: float, folds: int, ranks: tuple[int, ...] | None = None) -> tuple[float, float]:
    t, found = d["found"].target, d["found"]
    plan = plan_text(d["frame"], found.frame.text, cfg)
    XT = with_text(d["X"], hash_texts(d["frame"], plan, d["rows"]))
    params = {"C": c, "min_df": cfg.min_df, **({"ranks": ranks} if ranks else {})}
    spec = bl.ModelSpec("tfidf_ordinal" if ranks else "tfidf_linear", "text", params)
    metric = bl.HEADLINE[t.task]
    scores, secs = [], []
    for tr, te in d["splits"][:folds]:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = bl.fit_predict_holdout(spec, XT[tr], d["y"][tr], XT[te], d["y"][te], t.task, found.features.categorical,
                                       len(t.classes), t.positive, 0)
        secs.append(time.perf_counter() - t0)
        scores.append(s[metric])
    return float(np.mean(scores)), float(np.mean(secs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", action="append", default=[], help="FILE:TARGET (repeatable); default: generated tables")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="calibrate_text_"))
    settings = load_settings(data_dir=tmp / "data", env={})
    cases = []
    if args.csv:
        for item in args.csv:
            file, _, target = item.rpartition(":")
            cases.append((Path(file), target))
    else:
        rng = np.random.default_rng(0)
        for name, make, target in (("reviews", reviews, "sentiment"), ("tickets", tickets, "queue")):
            path = tmp / f"{name}.csv"
            make(rng).to_csv(path, index=False)
            cases.append((path, target))
    base = settings.scope.text
    cs = list(dict.fromkeys([*base.classify_c, 30.0, 3.0]))
    variants = [("configured", base), ("words only", base.model_copy(update={"char_max_median_chars": 0})),
                ("chars everywhere", base.model_copy(update={"char_max_median_chars": 10**9})),
                ("sklearn tokens", base.model_copy(update={"token_pattern": SKLEARN_TOKENS}))]
    print(f"{'file':28s} {'variant':18s} {'C':>6s} {'score':>7s} {'s/fold':>7s}")
    for path, target in cases:
        d = prepare(path, target, settings)
        for label, cfg in variants:
            for c in (cs if label == "configured" else base.classify_c[:1]):
                score, sec = measure(d, cfg, c, args.folds)
                print(f"{path.name:28s} {label:18s} {c:6g} {score:7.4f} {sec:7.2f}", flush=True)
        ranks = ordinal_ranks(d["found"].target.classes) if d["found"].target.task == "multiclass" else None
        for c in ([base.ordinal_c, 0.3, 3.0] if ranks else []):
            score, sec = measure(d, base, c, args.folds, ranks)
            print(f"{path.name:28s} {'ordinal':18s} {c:6g} {score:7.4f} {sec:7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
