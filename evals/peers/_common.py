"""Shared by the peer runners (executed inside each peer's own venv, so only numpy/pandas/scikit-learn here).

Protocol: a runner is called as
    python evals/peers/run_X.py --csv PATH --target COL --task binary|multiclass|regression
                                --folds FOLDS.npy --fold-ids 0,1,2,3,4 [--time-budget 30] [--seed 0]
FOLDS.npy holds one fold id per CSV row, computed once by the benchmark (StratifiedKFold for classification,
KFold for regression, 5 splits, shuffle=True, random_state=0); fold k's held-out rows are those with id k.
It writes JSON lines to stdout: {"event": "start", versions...}, one {"event": "fold", ...} per fold (score
under the shared metric on the held-out fold, fit and predict seconds), optional {"event": "partial", ...}
lines, and {"event": "done"} last. Everything else a peer prints goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

METRIC = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}

_REAL_STDOUT = sys.stdout


def emit(**record) -> None:
    _REAL_STDOUT.write(json.dumps(record, default=_jsonable) + "\n")
    _REAL_STDOUT.flush()


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return str(value)


def quiet_stdout() -> None:
    """Peers print progress to stdout; keep stdout for our JSON lines only."""
    sys.stdout = sys.stderr
    warnings.simplefilter("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")


def parse_args(extra=None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--csv", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--task", required=True, choices=sorted(METRIC))
    p.add_argument("--folds", required=True)
    p.add_argument("--fold-ids", default="0,1,2,3,4")
    p.add_argument("--time-budget", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=0)
    if extra:
        extra(p)
    return p.parse_args()


def load(args):
    """Features as read by pandas, the target label-encoded (0..k-1) for classification, the fold ids."""
    t0 = time.perf_counter()
    df = pd.read_csv(args.csv)
    y = df.pop(args.target)
    if args.task != "regression":
        classes = np.unique(y.astype(str))
        y = pd.Series(np.searchsorted(classes, y.astype(str)), name=args.target)
    folds = np.load(args.folds)
    if len(folds) != len(df):
        raise SystemExit(f"fold file has {len(folds)} rows, CSV has {len(df)}")
    return df, y, folds, time.perf_counter() - t0


def split(df, y, folds, k):
    test = folds == k
    return df[~test].reset_index(drop=True), df[test].reset_index(drop=True), \
        y[~test].reset_index(drop=True), y[test].reset_index(drop=True)


def positive_scores(model, X):
    """Scores for class 1 (binary): predict_proba if the model has it, else decision_function."""
    if hasattr(model, "predict_proba"):
        try:
            proba = np.asarray(model.predict_proba(X))
            classes = list(getattr(model, "classes_", range(proba.shape[1])))
            col = classes.index(1) if 1 in classes else proba.shape[1] - 1
            return proba[:, col]
        except (AttributeError, NotImplementedError):
            pass
    if hasattr(model, "decision_function"):
        d = np.asarray(model.decision_function(X))
        return d if d.ndim == 1 else d[:, -1]
    raise AttributeError("model has neither predict_proba nor decision_function")


def score(task, model, X_test, y_test) -> float:
    from sklearn.metrics import f1_score, r2_score, roc_auc_score

    if task == "binary":
        return float(roc_auc_score(np.asarray(y_test), positive_scores(model, X_test)))
    pred = np.asarray(model.predict(X_test)).ravel()
    if task == "multiclass":
        return float(f1_score(np.asarray(y_test), pred.astype(np.asarray(y_test).dtype), average="macro"))
    return float(r2_score(np.asarray(y_test), pred))


def versions(*names) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for n in ("numpy", "pandas", "scikit-learn", *names):
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            out[n] = None
    return out
