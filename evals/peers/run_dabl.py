"""dabl peer: SimpleClassifier / SimpleRegressor on each training fold, scored on the held-out fold.

dabl runs its own 5-fold CV inside the training fold over its fast model portfolio (ranked by recall_macro
for classification, r2 for regression), refits the best on the whole training fold; we score that model on
the held-out fold with the shared metric (predict_proba/decision_function for roc_auc).
"""

from __future__ import annotations

import time

from _common import emit, load, parse_args, quiet_stdout, score, split, versions


def main() -> int:
    quiet_stdout()
    args = parse_args()
    import dabl

    emit(event="start", peer="dabl", versions=versions("dabl"))
    df, y, folds, load_s = load(args)
    for k in (int(f) for f in args.fold_ids.split(",")):
        X_tr, X_te, y_tr, y_te = split(df, y, folds, k)
        cls = dabl.SimpleRegressor if args.task == "regression" else dabl.SimpleClassifier
        model = cls(random_state=args.seed, verbose=0)
        t0 = time.perf_counter()
        model.fit(X_tr, y_tr)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        s = score(args.task, model, X_te, y_te)
        emit(event="fold", fold=k, score=s, fit_seconds=round(fit_s, 2),
             predict_seconds=round(time.perf_counter() - t0, 2),
             detail={"best_estimator": repr(model.est_.steps[-1][1])[:200]})
    emit(event="done", load_seconds=round(load_s, 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
