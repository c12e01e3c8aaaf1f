"""FLAML peer: AutoML on each training fold with time_budget seconds, scored on the held-out fold.

FLAML does its own internal validation inside the training fold (eval_method "auto": cross-validation on
small data, holdout on large), optimises the shared metric (roc_auc / macro_f1 / r2), seed 0, all cores.
"""

from __future__ import annotations

import time

from _common import emit, load, parse_args, quiet_stdout, score, split, versions

FLAML_METRIC = {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "r2"}


def main() -> int:
    quiet_stdout()
    args = parse_args()
    from flaml import AutoML

    emit(event="start", peer="flaml", versions=versions("flaml", "lightgbm", "xgboost"))
    df, y, folds, load_s = load(args)
    for k in (int(f) for f in args.fold_ids.split(",")):
        X_tr, X_te, y_tr, y_te = split(df, y, folds, k)
        automl = AutoML()
        t0 = time.perf_counter()
        automl.fit(X_tr, y_tr, task="regression" if args.task == "regression" else "classification",
                   metric=FLAML_METRIC[args.task], time_budget=args.time_budget, seed=args.seed,
                   n_jobs=-1, verbose=0, log_file_name="")
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        s = score(args.task, automl, X_te, y_te)
        emit(event="fold", fold=k, score=s, fit_seconds=round(fit_s, 2),
             predict_seconds=round(time.perf_counter() - t0, 2),
             detail={"best_estimator": automl.best_estimator, "best_config": automl.best_config})
    emit(event="done", load_seconds=round(load_s, 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
