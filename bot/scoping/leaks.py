"""Leakage as a freelancer meets it, judged column by column against the other columns.

Every feature column is scored ALONE on held-out rows (`alone.py`: categories, quantile bins of
numbers and dates, missing as a value of its own, so mostly-empty columns are seen too). A column
is a leak suspect, warned about and left out of the headline baselines, when:
  - `leakage`: alone it predicts the target almost perfectly, or far better than every other
    column (ratio and floor in config) while, for a numeric target, the other columns tell nothing
    about it that the target does not (a column worked out from the outcome; an input that drives
    the target beside other inputs, a size beside a discount for a price, is explained by them
    beyond the target and is kept), or it is a near-copy of a numeric target;
  - `leak_post_outcome`: some of its values hold (almost) only one class and a good share of that
    class, far more of it than any other column's pure values: a value recorded once the outcome
    is known (a refund after a cancellation);
  - `leak_missingness`: the same, where what is pure is the column being empty or filled in (a
    closing date written only for loans that defaulted);
  - `leak_identifier`: an identifier (left out of the features anyway) whose order or value
    predicts the target beyond chance: rows created later differ, so something that changed over
    time is not a column.
Columns that are near-copies of each other (their held-out predictions agree) do not count as each
other's competition, so a leak and its copy are both found; nor does a leak already found, so a weaker
post-outcome column beside a stronger one (a refund beside a cancellation reason) is found too. Thresholds: `scope.leakage` in
config.yaml, calibrated by evals/calibrate_leaks.py. Each finding carries a code, a plain-words
reason and the evidence (scores alone, the best other column, the pure values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata

from bot.config import LeakChecks
from bot.scoping import alone
from bot.scoping.common import Names, fmt_share, show_cell, warning
from bot.scoping.convert import Table, as_float, is_categorical
from bot.scoping.profile import Profile
from bot.scoping.target import Target

DETAIL_MAX = 150        # columns scored in detail; wider tables are screened by rank first
COMPARE_TOP = 12        # the strongest columns are compared with the others
SAME_SIGNAL = 0.98      # held-out predictions this correlated: copies of one signal (they do not compete)
EXPLAIN_ROWS = 5000     # rows sampled to tell a dominant input from a column worked out from the outcome
_DIGITS = re.compile(r"\d+")


@dataclass
class Leak:
    column: str                 # raw source column
    score: float                # its score alone on the report's metric family (ROC-AUC, R2, ...)
    how: str                    # the evidence in a few words
    code: str = "leakage"       # leakage | leak_post_outcome | leak_missingness | leak_identifier | ...
    reason: str = ""            # plain words, display-safe
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Alone:
    skill: float
    pred: np.ndarray | None = None
    pure: alone.Pure | None = None
    codes: np.ndarray | None = None
    missing_skill: float = 0.0
    missing_pure: alone.Pure | None = None
    any_pure: dict[int, alone.Pure] = field(default_factory=dict)


@dataclass
class Scan:
    """What the columns reach alone (the costly part; the thresholds are applied by `judge`)."""

    rows: np.ndarray
    y: np.ndarray
    features: list[str]
    scored: dict[str, _Alone]
    ids: dict[str, tuple[float, float]]   # identifier -> (skill of its order alone, z against chance)
    explained: dict[str, float] = field(default_factory=dict)   # memo of `_explained_beyond`, per column


def leak_scan(frame: Table, profile: Profile, target: Target, names: Names, random_state: int,
              limits: LeakChecks | None = None) -> list[Leak]:
    """Leak suspects among the feature columns, and identifiers that predict the target."""
    limits = limits or LeakChecks()
    scan = scan_columns(frame, profile, target, random_state, limits)
    return judge(scan, frame, target, names, limits) if scan is not None else []


def scan_columns(frame: Table, profile: Profile, target: Target, random_state: int, limits: LeakChecks) -> Scan | None:
    rows, y = target.rows, target.y
    rng = np.random.default_rng(random_state)
    if len(rows) > limits.sample_rows:
        pick = np.sort(rng.choice(len(rows), limits.sample_rows, replace=False))
        rows, y = rows[pick], y[pick]
    if len(rows) < 20:
        return None
    half = rng.permutation(len(rows)) % 2 == 0
    features = [col for col, c in profile.columns.items()  # a constant with gaps is a missingness indicator
                if col != target.name and (c.kind in ("numeric", "categorical", "datetime")
                                           or c.kind == "constant" and c.missing > 0)]
    scored = _score_columns(frame, features, rows, y, half, target, limits)
    ids = {}
    for col, c in profile.columns.items():
        order = id_order(frame[col], rows) if col != target.name and c.kind == "id" else None
        if order is not None:
            ids[col] = alone.order_z(order, y, half, target.task, len(target.classes), target.positive, rng)
    return Scan(rows, y, features, scored, ids)


def judge(scan: Scan, frame: Table, target: Target, names: Names, limits: LeakChecks) -> list[Leak]:
    def explained(col: str) -> float:
        if col not in scan.explained:
            scan.explained[col] = _explained_beyond(scan, frame, col, target)
        return scan.explained[col]

    leaks = _judge(scan.scored, frame, scan.rows, target, names, limits, explained)
    leaks += _near_copies(frame, scan.features, scan.rows, scan.y, target, names, limits, {lk.column for lk in leaks})
    leaks += _products(frame, scan.features, scan.rows, scan.y, target, names, limits, {lk.column for lk in leaks})
    leaks += [lk for col, (s, z) in scan.ids.items() if (lk := _identifier(col, s, z, target, names, limits))]
    return leaks


# Scoring ----------------------------------------------------------------------------------------


def _score_columns(frame: Table, features: list[str], rows: np.ndarray, y: np.ndarray, half: np.ndarray,
                   target: Target, limits: LeakChecks) -> dict[str, _Alone]:
    task, k, pos = target.task, len(target.classes), target.positive
    detail = features
    quick: dict[str, float] = {}
    if len(features) > DETAIL_MAX:
        quick = _rank_screen(frame, features, rows, y, target)
        detail = sorted(quick, key=lambda c: -quick[c])[:DETAIL_MAX]
    out: dict[str, _Alone] = {c: _Alone(s) for c, s in quick.items() if c not in detail}
    for col in detail:
        a = frame[col]
        codes = alone.column_codes(a, rows)
        pred = alone.held_out_predictions(codes, y, half, task, k, pos)
        res = _Alone(alone.skill_of(pred, y, task, k, pos), pred=pred.astype(np.float32), codes=codes)
        miss = alone.missing_codes(a, rows)
        if miss is not None:
            res.missing_skill = alone.skill(miss, y, half, task, k, pos)
        if task != "regression":
            # categories: their values; numbers and dates: whether a row holds the column's usual value (a
            # refund amount of 0), since the tails of any strong number are pure without being recorded late
            values = codes if is_categorical(a) else alone.mode_codes(codes, miss)
            res.pure = alone.purity(values, y, half, k, limits.pure_share, limits.pure_min_rows)
            # what the column singles out by any of its values (bins): the yardstick for the other columns
            coarse = codes if is_categorical(a) else alone.column_codes(
                a, rows, bins=int(np.clip(len(rows) // (4 * limits.pure_min_rows), 2, alone.BINS)))
            res.any_pure = alone.purity_by_class(coarse, y, half, k, limits.pure_share, limits.pure_min_rows)
            if miss is not None:
                res.missing_pure = alone.purity(miss, y, half, k, limits.pure_share, limits.pure_min_rows)
        out[col] = res
    return out


def _rank_screen(frame: Table, features: list[str], rows: np.ndarray, y: np.ndarray, target: Target) -> dict[str, float]:
    """A cheap first look at wide tables: |rank correlation| with the target, a block of columns at a time
    (categories and dates ranked by their codes)."""
    t = rankdata(y == (target.positive if target.positive is not None else 1)) if target.task == "binary" else \
        rankdata(y)
    t = (t - t.mean()) / (t.std() or 1.0)
    out = {}
    for start in range(0, len(features), 256):
        block = features[start:start + 256]
        M = np.column_stack([as_float(frame[c])[rows] if not is_categorical(frame[c]) and
                             np.asarray(frame[c]).dtype.kind in "fiu" else
                             alone.column_codes(frame[c], rows).astype(np.float64) for c in block])
        with np.errstate(all="ignore"):
            fill = np.where(np.isfinite(M).any(axis=0), np.nanmedian(np.where(np.isfinite(M), M, np.nan), axis=0), 0)
        M = np.where(np.isfinite(M), M, fill)
        R = rankdata(M, axis=0)
        sd = R.std(axis=0)
        with np.errstate(all="ignore"):
            r = np.abs(((R - R.mean(axis=0)) / np.where(sd > 0, sd, 1) * t[:, None]).mean(axis=0))
        out.update({c: float(v) if sd[k] > 0 else 0.0 for k, (c, v) in enumerate(zip(block, r, strict=True))})
    return out


# Judging ----------------------------------------------------------------------------------------


def _rivals(col: str, scored: dict[str, _Alone], leaked: frozenset[str] = frozenset()) -> list[str]:
    """Other columns that carry a different signal (held-out predictions not near-identical), leaks
    already found aside."""
    mine = scored[col].pred
    out = []
    for other, s in scored.items():
        if other == col or other in leaked:
            continue
        if (mine is not None and s.pred is not None and np.std(mine) > 0 and np.std(s.pred) > 0
                and abs(float(np.corrcoef(mine, s.pred)[0, 1])) >= SAME_SIGNAL):
            continue
        out.append(other)
    return out


def _judge(scored: dict[str, _Alone], frame: Table, rows: np.ndarray, target: Target, names: Names,
           limits: LeakChecks, explained: Any = None) -> list[Leak]:
    leaks: list[Leak] = []
    top = sorted(scored, key=lambda c: -scored[c].skill)[:COMPARE_TOP]
    top += [c for c, s in scored.items() if c not in top and (s.pure or s.missing_pure)]
    for col in top:
        s = scored[col]
        rivals = _rivals(col, scored)
        best_other, evidence = _evidence(s, rivals, scored, target, names)
        other_skill = scored[best_other].skill if best_other else 0.0
        leak = _pure_leak(col, s, rivals, scored, frame, rows, target, names, limits, evidence)
        if leak is None and s.skill >= limits.alone_skill:
            leak = Leak(col, evidence["alone"], f"{_alone_text(s.skill, target)} on its own", "leakage",
                        f"{names.code(col)} predicts the target almost perfectly on its own "
                        f"({_alone_text(s.skill, target)}).", evidence)
        if (leak is None and s.skill >= limits.dominance_skill and s.skill >= limits.dominance_ratio * other_skill
                and (explained is None or explained(col) < limits.dominance_explained)):
            other = (f"the best other column, {names.code(best_other)}, reaches {_alone_text(other_skill, target)}"
                     if best_other else "no other column predicts it")
            leak = Leak(col, evidence["alone"], f"{_alone_text(s.skill, target)} on its own", "leakage",
                        f"{names.code(col)} alone reaches {_alone_text(s.skill, target)}, far above every other "
                        f"column ({other}): a column this dominant is often recorded after the outcome or derived "
                        "from it.", evidence)
        if leak is not None:
            leaks.append(leak)
    # A leak found sets no yardstick for the others: values pure for a class are judged again against the
    # columns that are not leaks ("refund_amount" is masked by "cancellation_reason", which singles out
    # every churner). Only the pure-value rule: against weaker rivals, an honest strong column would look
    # dominant.
    leaked = frozenset(lk.column for lk in leaks)
    while leaked:
        more = []
        for col in [c for c, s in scored.items() if c not in leaked and (s.pure or s.missing_pure)]:
            s = scored[col]
            rivals = _rivals(col, scored, leaked)
            leak = _pure_leak(col, s, rivals, scored, frame, rows, target, names, limits,
                              _evidence(s, rivals, scored, target, names)[1])
            if leak is not None:
                more.append(leak)
        if not more:
            break
        leaks += more
        leaked = leaked | {lk.column for lk in more}
    return leaks


def _explained_beyond(scan: Scan, frame: Table, col: str, target: Target) -> float:
    """How much the other columns tell about a dominant numeric column beyond what the target tells: the share
    of the column's variance left unexplained by the target that the target and the other columns together
    explain (held out, two halves). A column worked out from the outcome (`final_amount` = the target plus
    noise) is explained by the target alone: the others add nothing (about 0). An input that drives the target
    beside other inputs (`sqft` beside a discount, for a price) is not: knowing the price and the discount
    says more about the size than the price alone does ("explaining away"). Regression targets only (a class
    says too little about a column for this); 0 when it cannot be told (categories, no other column)."""
    a = frame[col]
    if target.task != "regression" or is_categorical(a) or np.asarray(a).dtype.kind not in "fiu":
        return 0.0
    rivals = [c for c in sorted(_rivals(col, scan.scored), key=lambda c: -scan.scored[c].skill)
              if scan.scored[c].codes is not None][:COMPARE_TOP]
    v = as_float(a)[scan.rows]
    ok = np.flatnonzero(np.isfinite(v) & np.isfinite(scan.y))
    if not rivals or len(ok) < 100 or np.std(v[ok]) == 0:
        return 0.0
    rng = np.random.default_rng(0)
    if len(ok) > EXPLAIN_ROWS:
        ok = np.sort(rng.choice(ok, EXPLAIN_ROWS, replace=False))
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import r2_score

    y = scan.y[ok].astype(np.float64)[:, None]
    full = np.column_stack([y] + [scan.scored[c].codes[ok].astype(np.float64) for c in rivals])
    half = rng.permutation(len(ok)) % 2 == 0
    scores = []
    for X in (y, full):
        pred = np.empty(len(ok))
        for fit in (half, ~half):
            model = HistGradientBoostingRegressor(max_iter=100, random_state=0).fit(X[fit], v[ok][fit])
            pred[~fit] = model.predict(X[~fit])
        scores.append(r2_score(v[ok], pred))
    left = 1.0 - scores[0]
    return float(max(0.0, (scores[1] - scores[0]) / left)) if left > 1e-6 else 0.0


def _evidence(s: _Alone, rivals: list[str], scored: dict[str, _Alone], target: Target,
              names: Names) -> tuple[str | None, dict]:
    """The strongest rival column and the evidence every finding carries (the column's score alone, the
    best rival's)."""
    best_other = max(rivals, key=lambda c: scored[c].skill, default=None)
    return best_other, {"alone": _metric_value(s.skill, target), "metric": _metric_name(target),
                        "best_other": names.show(best_other) if best_other else None,
                        "best_other_alone": _metric_value(scored[best_other].skill, target) if best_other else None}


def _pure_leak(col: str, s: _Alone, rivals: list[str], scored: dict[str, _Alone], frame: Table, rows: np.ndarray,
               target: Target, names: Names, limits: LeakChecks, evidence: dict) -> Leak | None:
    """Values (or emptiness) that hold almost only one class: recorded after the outcome."""
    rarity = {k: 1 - float(np.mean(target.y == k)) for k in range(len(target.classes))}
    found = sorted(((p, m) for p, m in ((s.missing_pure, True), (s.pure, False)) if p is not None),
                   key=lambda pm: -pm[0].coverage * rarity[pm[0].cls])  # the stronger finding first
    for pure, missing in found:
        if pure.coverage < limits.pure_coverage:
            continue
        others = [_coverage(scored[c], pure.cls) for c in rivals]
        other = max(others, default=0.0)
        if pure.coverage < limits.pure_ratio * other:
            continue
        cls = show_cell(target.classes[pure.cls])
        code = names.code(col)
        evidence = {**evidence, "class": str(target.classes[pure.cls])[:40], "coverage": round(pure.coverage, 3),
                    "purity": round(pure.purity, 3), "best_other_coverage": round(other, 3)}
        if missing or _only_missing_code(frame[col], rows, pure):
            state = "filled in" if missing and pure.codes == [0] else "empty"
            evidence["pure_values"] = state
            reason = (f"{code} is {state} for {fmt_share(pure.coverage, 1)} of the rows whose target is {cls}, and "
                      f"such rows are almost all {cls} ({fmt_share(pure.purity, 1)}): whether it is filled in "
                      "encodes the outcome, as a field written only after the outcome (a closing date, a "
                      "resolution) does.")
            return Leak(col, evidence["alone"], f"missing or not, {fmt_share(pure.coverage, 1)} of {cls} rows",
                        "leak_missingness", reason, evidence)
        values = _describe(frame[col], rows, pure.codes)
        evidence["pure_values"] = values
        reason = (f"{code} is {values} in {fmt_share(pure.coverage, 1)} of the rows whose target is {cls}, and "
                  f"those rows are almost all {cls} ({fmt_share(pure.purity, 1)}), far more than any other column "
                  f"singles out: a value recorded once the outcome is known (a refund after a cancellation), "
                  "which will not be there at prediction time.")
        return Leak(col, evidence["alone"], f"pure for {fmt_share(pure.coverage, 1)} of {cls} rows",
                    "leak_post_outcome", reason, evidence)
    return None


def _coverage(s: _Alone, cls: int) -> float:
    pures = (s.pure, s.missing_pure, s.any_pure.get(cls))
    return max((p.coverage for p in pures if p is not None and p.cls == cls), default=0.0)


def _only_missing_code(a: Any, rows: np.ndarray, pure: alone.Pure) -> bool:
    return pure.codes == [int(alone.column_codes(a, rows).max())] and alone.missing_codes(a, rows) is not None


def _describe(a: Any, rows: np.ndarray, codes: list[int]) -> str:
    if is_categorical(a):
        labels = [a.categories[c] for c in codes if c < len(a.categories)]
        return " or ".join(show_cell(v, 30) for v in labels[:3]) if labels else "one of a few values"
    return "its usual value" if codes == [0] else "anything but its usual value"


def _near_copies(frame: Table, features: list[str], rows: np.ndarray, y: np.ndarray, target: Target, names: Names,
                 limits: LeakChecks, done: set[str]) -> list[Leak]:
    if target.task != "regression":
        return []
    out = []
    for col in features:
        a = frame[col]
        if col in done or is_categorical(a) or np.asarray(a).dtype.kind not in "fiu":
            continue
        v = as_float(a)[rows]
        ok = np.isfinite(v)
        if ok.sum() < 20 or np.std(v[ok]) == 0:
            continue
        r = abs(float(np.corrcoef(v[ok], y[ok])[0, 1]))
        rho = abs(float(np.corrcoef(rankdata(v[ok]), rankdata(y[ok]))[0, 1]))
        best = max(r, rho)
        if best >= limits.near_copy_corr:
            out.append(Leak(col, best, f"correlation {best:.3f} with the target (a near-copy)", "leakage",
                            f"{names.code(col)} moves with the target almost exactly (correlation {best:.3f}): a "
                            "near-copy of the outcome.", {"correlation": round(best, 4)}))
    return out


def _products(frame: Table, features: list[str], rows: np.ndarray, y: np.ndarray, target: Target, names: Names,
              limits: LeakChecks, done: set[str]) -> list[Leak]:
    """A positive numeric target that is (almost exactly) the product or ratio of two columns ("price" =
    `sqm` x `price_per_sqm`): the per-unit column is then known only once the outcome is, or the target is a
    formula of the inputs. The column of the pair that says less alone is flagged (the other is the
    ordinary input it is divided by); `product_corr` is the closeness, in logs, that counts."""
    if target.task != "regression" or not len(y) or np.nanmin(y) <= 0:
        return []
    logs: dict[str, np.ndarray] = {}
    for col in features:
        a = frame[col]
        if col in done or is_categorical(a) or np.asarray(a).dtype.kind not in "fiu":
            continue
        v = as_float(a)[rows]
        if np.isfinite(v).mean() < 0.9 or np.nanmin(v) <= 0 or np.nanstd(v) == 0:
            continue
        logs[col] = np.log(v)
        if len(logs) >= limits.product_columns:
            break
    ly = np.log(y)
    alone_r = {c: abs(_corr(v, ly)) for c, v in logs.items()}
    best: tuple[float, str, str, str] | None = None
    cols = list(logs)
    for i, a in enumerate(cols):
        for b in cols[i + 1:]:
            for sign, op in ((1.0, "x"), (-1.0, "/")):
                r = _corr(logs[a] + sign * logs[b], ly)
                if r >= limits.product_corr and r > max(alone_r[a], alone_r[b]) and (best is None or r > best[0]):
                    best = (r, a, b, op)
    if best is None:
        return []
    r, a, b, op = best
    leak, other = (a, b) if alone_r[a] <= alone_r[b] else (b, a)
    formula = f"{names.code(a)} {'×' if op == 'x' else '/'} {names.code(b)}"
    return [Leak(leak, r, f"the target is {formula} (correlation {r:.3f} in logs)", "leakage",
                 f"{names.code(target.name)} is {formula} almost exactly (correlation {r:.3f} in logs): "
                 f"{names.code(leak)} is likely worked out from the outcome (a per-unit figure known only once "
                 f"{names.code(target.name)} is), so it is left out; if both are known in advance, the target "
                 "is a formula of the inputs and needs no model.", {"correlation": round(r, 4), "with": names.show(other)})]


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 20 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return 0.0
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


# Identifiers ------------------------------------------------------------------------------------


def _identifier(col: str, s: float, z: float, target: Target, names: Names, limits: LeakChecks) -> Leak | None:
    """An ID whose order (its number, or the number inside a code) predicts the target beyond chance."""
    if s < limits.id_skill or z < limits.id_z:
        return None
    text = _alone_text(s, target)
    evidence = {"alone": _metric_value(s, target), "metric": _metric_name(target), "chance_z": round(z, 1),
                "by": "order"}
    reason = (f"{names.code(col)} is an identifier, yet its order predicts the target ({text} alone, far beyond "
              "chance): rows numbered later differ from earlier ones, so something that changed over time (a "
              "campaign, a policy, a price) is not a column, and scores on a random split flatter the future. It "
              "is left out of the features; validate in the order of the ID before trusting the model on new rows.")
    return Leak(col, evidence["alone"], f"{text} from its order alone", "leak_identifier", reason, evidence)


def id_order(a: Any, rows: np.ndarray) -> np.ndarray | None:
    """The order an ID encodes: its value, or the number inside codes such as LN60000013 (None for hashes)."""
    if not is_categorical(a):
        v = as_float(a)[rows]
        return v if np.isfinite(v).mean() >= 0.9 else None
    cats = np.asarray(a.categories, dtype=object)
    nums = np.full(len(cats), np.nan)
    for i, c in enumerate(cats):
        found = _DIGITS.findall(str(c))
        if len(found) == 1 and len(found[0]) >= 2:
            nums[i] = float(found[0])
    codes = np.asarray(a.codes)[rows]
    v = np.where(codes >= 0, nums[np.clip(codes, 0, None)], np.nan)
    return v if np.isfinite(v).mean() >= 0.9 else None


# Words ------------------------------------------------------------------------------------------


def _metric_name(target: Target) -> str:
    return {"binary": "roc_auc", "multiclass": "balanced_accuracy", "regression": "r2"}[target.task]


def _metric_value(skill: float, target: Target) -> float:
    if target.task == "binary":
        return round((1 + skill) / 2, 4)
    if target.task == "multiclass":
        chance = 1 / max(len(target.classes), 1)
        return round(chance + skill * (1 - chance), 4)
    return round(skill, 4)


def _alone_text(skill: float, target: Target) -> str:
    label = {"binary": "ROC-AUC", "multiclass": "balanced accuracy", "regression": "R2"}[target.task]
    return f"{label} {_metric_value(skill, target):.3f}"


def leak_warnings(leaks: list[Leak], names: Names) -> list[dict[str, Any]]:
    out = []
    for lk in leaks:
        if lk.code in ("leak_identifier", "leak_entity", "leak_future"):
            tail = ""
        else:
            tail = (" It was left out of the baselines (scores are shown without it); check it is known at "
                    "prediction time.")
        out.append(warning(lk.code, names.show(lk.column), f"possible target leakage: {lk.reason}{tail}"))
    return out
