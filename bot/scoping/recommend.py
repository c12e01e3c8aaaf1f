"""The recommender frame: ratings (or 0/1 interactions) between users and items.

Folds hold out interactions (shuffled k-fold over rows, random_state from config); every model is
fitted inside each training fold:
  global_mean               the training mean (the dummy)
  user_item_bias            mean + user bias + item bias, shrunk towards 0 (ridge), a few alternating rounds
  matrix_factorisation_als  the biases plus a low-rank user x item term fitted by alternating least squares
                            on the residuals (weighted ridge, ALS-WR)
A user or item unseen in a training fold gets no bias and no factors (the cold-start case), so the
held-out score includes it. Ratings are scored with rmse, mae and r2; 0/1 interactions also with roc_auc.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score, roc_auc_score
from sklearn.model_selection import KFold

from bot.scoping.baselines import CVResult, ModelSpec, record, run_folds

BIAS_SHRINK = 5.0        # ridge on the biases, in pseudo-interactions
BIAS_ROUNDS = 4
RANK = 10
ALS_SHRINK = 2.0         # ridge on the factors, per interaction of the user or item (ALS-WR)
ALS_ROUNDS = 8
MAX_INTERACTIONS = 500_000  # above this, a stated random sample of interactions
CURVE_SIZES = (0.1, 0.25, 0.5)

SPECS = (ModelSpec("global_mean", "dummy"), ModelSpec("user_item_bias", "bias", {"shrink": BIAS_SHRINK}),
         ModelSpec("matrix_factorisation_als", "mf", {"rank": RANK, "shrink": ALS_SHRINK, "rounds": ALS_ROUNDS}))


@dataclass
class Interactions:
    user: np.ndarray     # int codes, 0..n_users-1
    item: np.ndarray
    value: np.ndarray    # float ratings or 0/1
    n_users: int
    n_items: int
    binary: bool

    @property
    def metrics(self) -> tuple[str, ...]:
        return ("rmse", "mae", "r2", "roc_auc") if self.binary else ("rmse", "mae", "r2")

    @property
    def metric(self) -> str:
        return "roc_auc" if self.binary else "rmse"


def interactions(user_codes: np.ndarray, item_codes: np.ndarray, values: np.ndarray) -> Interactions:
    ok = (user_codes >= 0) & (item_codes >= 0) & np.isfinite(values)
    u = np.unique(user_codes[ok], return_inverse=True)[1]
    i = np.unique(item_codes[ok], return_inverse=True)[1]
    v = values[ok].astype(np.float64)
    binary = bool(np.isin(np.unique(v), (0.0, 1.0)).all())
    return Interactions(u, i, v, int(u.max()) + 1 if u.size else 0, int(i.max()) + 1 if i.size else 0, binary)


class Fitted:
    """A fitted model: predicts mean + biases + factors for (user, item) codes."""

    def __init__(self, mu: float, bu: np.ndarray, bi: np.ndarray, P: np.ndarray | None = None,
                 Q: np.ndarray | None = None):
        self.mu, self.bu, self.bi, self.P, self.Q = mu, bu, bi, P, Q

    def predict(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        pred = self.mu + self.bu[u] + self.bi[i]
        if self.P is not None and self.Q is not None:
            pred = pred + np.einsum("ij,ij->i", self.P[u], self.Q[i])
        return pred


def fit(spec: ModelSpec, u: np.ndarray, i: np.ndarray, r: np.ndarray, n_users: int, n_items: int,
        random_state: int) -> Fitted:
    mu = float(r.mean())
    if spec.family == "dummy":
        return Fitted(mu, np.zeros(n_users), np.zeros(n_items))
    bu, bi = _biases(u, i, r - mu, n_users, n_items, spec.params.get("shrink", BIAS_SHRINK))
    if spec.family == "bias":
        return Fitted(mu, bu, bi)
    resid = r - mu - bu[u] - bi[i]
    P, Q = _als(u, i, resid, n_users, n_items, spec.params["rank"], spec.params["shrink"], spec.params["rounds"],
                np.random.default_rng(random_state))
    return Fitted(mu, bu, bi, P, Q)


def _biases(u, i, r, n_users, n_items, shrink):
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    nu = np.bincount(u, minlength=n_users)
    ni = np.bincount(i, minlength=n_items)
    for _ in range(BIAS_ROUNDS):
        bi = np.bincount(i, weights=r - bu[u], minlength=n_items) / (ni + shrink)
        bu = np.bincount(u, weights=r - bi[i], minlength=n_users) / (nu + shrink)
    return bu, bi


def _als(u, i, r, n_users, n_items, rank, shrink, rounds, rng):
    P = rng.normal(0, 0.1, (n_users, rank))
    Q = rng.normal(0, 0.1, (n_items, rank))
    for _ in range(rounds):
        P = _solve_side(u, i, r, Q, n_users, shrink)
        Q = _solve_side(i, u, r, P, n_items, shrink)
    return P, Q


def _solve_side(a: np.ndarray, b: np.ndarray, r: np.ndarray, F: np.ndarray, n_a: int, shrink: float) -> np.ndarray:
    """Ridge solution of every row of one side given the other side's factors (batched k x k solves)."""
    k = F.shape[1]
    Fb = F[b]
    G = np.empty((n_a, k, k))
    for p in range(k):
        for q in range(p, k):
            G[:, p, q] = G[:, q, p] = np.bincount(a, weights=Fb[:, p] * Fb[:, q], minlength=n_a)
    rhs = np.stack([np.bincount(a, weights=Fb[:, p] * r, minlength=n_a) for p in range(k)], axis=1)
    counts = np.bincount(a, minlength=n_a)
    G += (shrink * counts + 1e-6)[:, None, None] * np.eye(k)
    return np.linalg.solve(G, rhs[:, :, None])[:, :, 0]


def score(data: Interactions, truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    out = {"rmse": float(np.sqrt(mean_squared_error(truth, pred))), "mae": float(mean_absolute_error(truth, pred)),
           "r2": float(r2_score(truth, pred))}
    if data.binary:
        try:
            out["roc_auc"] = float(roc_auc_score(truth, pred))
        except ValueError:
            out["roc_auc"] = float("nan")
    return out


def splits(data: Interactions, folds: int, random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(KFold(folds, shuffle=True, random_state=random_state).split(data.value))


def run_models(data: Interactions, folds: list, random_state: int, deadline: float,
               on_result: Callable[[int, int, CVResult], None] | None = None) -> tuple[list[CVResult], list[dict]]:
    """Every model on every fold (stopped at the deadline after the dummy and the biases)."""
    results: list[CVResult] = []
    skipped: list[dict[str, Any]] = []
    for n, spec in enumerate(SPECS, start=1):
        def one(k: int, spec: ModelSpec = spec) -> dict[str, float]:
            tr, te = folds[k]
            model = fit(spec, data.user[tr], data.item[tr], data.value[tr], data.n_users, data.n_items, random_state)
            return score(data, data.value[te], model.predict(data.user[te], data.item[te]))

        res = run_folds(spec, len(folds), one, deadline if spec.family == "mf" else None)
        record(res, len(folds), results, skipped, keep_partial=False, on_result=on_result, i=n, total=len(SPECS))
    return results, skipped


def learning_curve(best: CVResult, data: Interactions, folds: list, metric: str, random_state: int,
                   deadline: float) -> list[dict[str, Any]]:
    """The best model refitted on a share of each training fold's interactions; the last point is the CV itself."""
    rng = np.random.default_rng(random_state)
    per_fold = best.seconds / max(len(folds), 1)
    points = []
    for frac in CURVE_SIZES:
        if time.monotonic() + per_fold * len(folds) > deadline:
            break
        scores, sizes = [], []
        for tr, te in folds:
            sub = np.sort(rng.choice(tr, size=max(int(len(tr) * frac), 2), replace=False))
            model = fit(best.spec, data.user[sub], data.item[sub], data.value[sub], data.n_users, data.n_items,
                        random_state)
            scores.append(score(data, data.value[te], model.predict(data.user[te], data.item[te]))[metric])
            sizes.append(len(sub))
        if np.all(np.isfinite(scores)):
            points.append({"train_size": int(np.mean(sizes)), "score": round(float(np.mean(scores)), 4)})
    points.append({"train_size": int(np.mean([len(tr) for tr, _ in folds])), "score": round(best.mean(metric), 4)})
    return points


def sample(data: Interactions, random_state: int) -> tuple[Interactions, int]:
    """At most MAX_INTERACTIONS interactions (a random sample); returns the data and the original count."""
    n = len(data.value)
    if n <= MAX_INTERACTIONS:
        return data, n
    pick = np.sort(np.random.default_rng(random_state).choice(n, MAX_INTERACTIONS, replace=False))
    return interactions(data.user[pick], data.item[pick], data.value[pick]), n


def cold_start(data: Interactions) -> dict[str, float]:
    """How much of the matrix is thin: shares of users and items with fewer than 3 interactions, density."""
    nu = np.bincount(data.user, minlength=data.n_users)
    ni = np.bincount(data.item, minlength=data.n_items)
    return {"users_under_3": round(float(np.mean(nu < 3)), 4), "items_under_3": round(float(np.mean(ni < 3)), 4),
            "density": round(len(data.value) / max(data.n_users * data.n_items, 1), 6)}


def notes(data: Interactions, cold: dict[str, float]) -> list[str]:
    """What a recommender project needs beyond these baselines."""
    out = [
        f"Cold start: {cold['users_under_3']:.0%} of users and {cold['items_under_3']:.0%} of items have fewer than 3 "
        "interactions; new users and items need a fallback (popularity, content features, onboarding questions).",
        "Ranking metrics: rating error is a proxy; a recommender is judged on the lists it shows (precision@k, "
        "recall@k, NDCG, coverage), evaluated on held-out interactions per user, ideally the latest ones in time.",
    ]
    if data.binary:
        out.append("Implicit feedback: 0/1 interactions say what was seen or chosen, not what was disliked; sample "
                   "negatives and use a ranking loss (BPR, weighted ALS).")
    else:
        out.append("Implicit feedback: clicks, views and purchases usually outnumber ratings many times over and "
                   "carry most of the signal; plan for them (weighted ALS, BPR) if the client logs them.")
    return out
