"""lazypredict peer: LazyClassifier / LazyRegressor fit on each training fold, every model scored on the
held-out fold.

lazypredict has no internal validation: `fit(X_train, X_test, y_train, y_test)` fits every model on the
training fold and ranks them on the test fold it is given. Right after each model is fitted (its
progress_callback) we score that fitted pipeline on the held-out fold with the shared metric and emit a
"partial" line, so a run killed by the time or memory cap keeps what it had. The benchmark then takes the
ONE model with the best mean held-out score over the folds (what a user reads off lazypredict's
leaderboard); that choice is made on the held-out folds, so it is slightly optimistic for lazypredict.
"""

from __future__ import annotations

import time

from _common import emit, load, parse_args, quiet_stdout, score, split, versions


def main() -> int:
    quiet_stdout()
    args = parse_args()
    from lazypredict.Supervised import LazyClassifier, LazyRegressor

    emit(event="start", peer="lazypredict", versions=versions("lazypredict", "lightgbm", "xgboost"))
    df, y, folds, load_s = load(args)
    for k in (int(f) for f in args.fold_ids.split(",")):
        X_tr, X_te, y_tr, y_te = split(df, y, folds, k)
        holder: dict = {}
        last = [time.perf_counter()]

        def on_model(name, i, n, metrics, holder=holder, last=last, X_te=X_te, y_te=y_te, k=k):
            now = time.perf_counter()
            model_s = now - last[0]
            rec = {"event": "partial", "fold": k, "model": name, "i": i, "n": n,
                   "model_seconds": round(model_s, 2)}
            if metrics is None:
                rec["error"] = repr(holder["lazy"].errors.get(name))[:200]
            else:
                try:
                    rec["score"] = score(args.task, holder["lazy"].models[name], X_te, y_te)
                except Exception as exc:  # a model without scores for roc_auc, for example
                    rec["error"] = repr(exc)[:200]
            emit(**rec)
            last[0] = time.perf_counter()

        cls = LazyRegressor if args.task == "regression" else LazyClassifier
        lazy = cls(verbose=0, ignore_warnings=True, random_state=args.seed, progress_callback=on_model)
        holder["lazy"] = lazy
        t0 = time.perf_counter()
        lazy.fit(X_tr, X_te, y_tr, y_te)
        emit(event="fold", fold=k, fit_seconds=round(time.perf_counter() - t0, 2), n_models=len(lazy.models),
             n_errors=len(lazy.errors))
    emit(event="done", load_seconds=round(load_s, 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
