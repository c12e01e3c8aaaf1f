"""Calibrate scope.structure.duplicate_share: when exact duplicate rows are common enough that shuffled folds
overstate the score (a row in training, its copy in validation), so validation groups the copies.

    .venv/bin/python evals/calibrate_duplicates.py

Generates client-like tables (binary and regression, a few sizes and signal strengths) whose rows are
exported again at a planted share of copies (a CRM export that repeats records, a join that fanned out),
scores a gradient-boosting model with folds that keep copies together and with the same folds where each
copy goes to a fold of its own (as shuffled k-fold does), and prints the inflation (the second minus the
first, in skill: ROC-AUC as 2*AUC-1, or R2; the mean over SEEDS) per share: only the copies differ. The chosen value is
the largest share of the grid at which no case inflates by more than TOLERANCE: copies below it change the
score less than the folds' own noise; above it the grouped folds are used. Printed to copy into config.yaml.

Second, scope.structure.copy_key_share: repeats are copies of records only when some column tells the
records apart (an amount to the cent, a timestamp); a table of a few categories or rounded numbers repeats
whole rows by chance, and keeping those together would hold out whole combinations of values. It prints
`validation.key_share` on tables of exported copies and on tables of plain rows that repeat by chance, and
chooses the lowest value (in steps of 0.01) above every plain table: no table of chance repeats gets grouped
folds; copied tables under it (amounts that collide in a large file) keep shuffled folds, as before.

    .venv/bin/python evals/calibrate_duplicates.py [--keys]   (--keys: the second part only)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import r2_score, roc_auc_score

SHARES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
SEEDS = 3
TOLERANCE = 0.01      # skill: an inflation under this is within fold noise
SIZES = (600, 3000)
STRENGTHS = (0.5, 1.5)


def table(rng, n: int, strength: float, task: str):
    X = rng.normal(size=(n, 5))
    X[:, 3] = rng.integers(0, 5, n)
    signal = strength * (X[:, 0] + 0.5 * X[:, 1] * X[:, 2] + 0.3 * X[:, 3]) + rng.normal(0, 1, n)
    y = (signal > 0).astype(int) if task == "binary" else signal
    return np.round(X, 3), y


def with_copies(rng, X, y, share: float):
    """Repeat some rows so that `share` of the result are copies of another row."""
    n = len(y)
    extra = int(round(share * n / (1 - share)))
    pick = rng.choice(n, extra, replace=True)
    idx = rng.permutation(np.concatenate([np.arange(n), pick]))
    return X[idx], y[idx], idx


def folds(fold_of: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)) for k in range(5)]


def skill(task: str, X, y, splits) -> float:
    pred = np.zeros(len(y))
    for tr, te in splits:
        m = (HistGradientBoostingClassifier(max_iter=100, random_state=0) if task == "binary"
             else HistGradientBoostingRegressor(max_iter=100, random_state=0))
        m.fit(X[tr], y[tr])
        pred[te] = m.predict_proba(X[te])[:, 1] if task == "binary" else m.predict(X[te])
    return 2 * roc_auc_score(y, pred) - 1 if task == "binary" else r2_score(y, pred)


def key_tables(rng) -> list[tuple[str, bool, pd.DataFrame]]:
    """(name, copies?, table): exported copies of records, and plain rows that repeat by chance."""
    out = []
    for n in (500, 3000, 20000):
        amount = rng.gamma(2, 40, n).round(2)
        base = pd.DataFrame({"amount": amount, "segment": rng.choice(list("abcde"), n), "flag": rng.integers(0, 2, n)})
        for share in (0.05, 0.3, 0.6):
            extra = base.sample(int(n * share / (1 - share)), replace=True, random_state=1)
            out.append((f"copies_amount_{n}_{share}", True, pd.concat([base, extra])))
        stamp = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), "s")
        ev = pd.DataFrame({"at": stamp.to_numpy(), "kind": rng.choice(["view", "buy"], n)})
        out.append((f"copies_stamp_{n}", True, pd.concat([ev, ev.sample(n // 4, random_state=2)])))
        survey = pd.DataFrame({q: rng.integers(1, 6, n) for q in ("q1", "q2", "q3")})
        survey["region"] = rng.choice(["n", "s", "e", "w"], n)
        out.append((f"plain_survey_{n}", False, survey))
        out.append((f"plain_rounded_{n}", False, pd.DataFrame({"x": rng.normal(size=n).round(1),
                                                              "age": rng.integers(18, 80, n),
                                                              "seg": rng.choice(list("ab"), n)})))
        out.append((f"plain_rounded2_{n}", False, pd.DataFrame({"x": rng.normal(size=n).round(2),
                                                               "seg": rng.choice(list("ab"), n)})))
    return out


def calibrate_keys() -> float:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bot.config import Scope
    from bot.scoping.convert import convert_table
    from bot.scoping.load import load_table
    from bot.scoping.profile import row_hashes
    from bot.scoping.validation import key_share

    limits = Scope()
    rng = np.random.default_rng(5)
    plain, copied = [], []
    print(f"\n{'table':<28} key_share (copies of records?)")
    for name, copies, df in key_tables(rng):
        table = convert_table(load_table(path=None, data=df.to_csv(index=False).encode(), filename="x.csv",
                                         limits=limits), limits)
        h = row_hashes(table.frame)
        firsts = np.unique(pd.factorize(h)[0], return_index=True)[1]
        share = key_share(table.frame, firsts)
        (copied if copies else plain).append(share)
        print(f"{name:<28} {share:.3f} ({copies})")
    chosen = float(np.floor(max(plain) * 100) + 1) / 100
    missed = sum(v < chosen for v in copied)
    print(f"highest plain {max(plain):.3f}, lowest copies {min(copied):.3f}")
    print(f"chosen: copy_key_share {chosen}  ({len(copied) - missed}/{len(copied)} copied tables grouped, "
          f"0/{len(plain)} plain ones)")
    return chosen


def main() -> None:
    if "--keys" in sys.argv:
        calibrate_keys()
        return
    rng = np.random.default_rng(11)
    worst = {}
    print(f"{'case':<28} " + " ".join(f"{s:>6}" for s in SHARES))
    for task in ("binary", "regression"):
        for n in SIZES:
            for strength in STRENGTHS:
                X0, y0 = table(rng, n, strength, task)
                row = []
                for share in SHARES:
                    gaps = []
                    for _ in range(SEEDS):
                        X, y, idx = with_copies(rng, X0, y0, share)
                        fold_of = rng.permutation(n) % 5            # each original row's fold
                        grouped = fold_of[idx]
                        first = np.zeros(len(idx), dtype=bool)
                        first[np.unique(idx, return_index=True)[1]] = True
                        shuffled = np.where(first, grouped, rng.integers(0, 5, len(idx)))  # copies land anywhere
                        gaps.append(skill(task, X, y, folds(shuffled)) - skill(task, X, y, folds(grouped)))
                    gap = float(np.mean(gaps))
                    row.append(gap)
                    worst[share] = max(worst.get(share, -1.0), gap)
                print(f"{task + f' n={n} s={strength}':<28} " + " ".join(f"{v:+.3f}" for v in row))
    print("worst  " + " ".join(f"{s}:{worst[s]:+.3f}" for s in SHARES))
    ok = [s for s in SHARES if all(worst[t] <= TOLERANCE for t in SHARES if t <= s)]
    chosen = max(ok) if ok else min(SHARES)
    print(f"chosen: duplicate_share {chosen}  (largest share whose copies inflate the score by at most {TOLERANCE})")
    calibrate_keys()


if __name__ == "__main__":
    main()
