"""Planted leaks and clean controls for calibrating the leak and structure checks.

Every case is a client-like table generated with numpy and pandas (or a dataset bundled with
scikit-learn), with its truth planted: which column leaks and how (`leak`), whether time order
matters (`time_matters`), or nothing at all (a clean control). The generators vary what a
freelancer meets: sizes from a few hundred to tens of thousands of rows, strong and weak real
drivers, missing values at random and missingness that carries some (honest) signal, counts that
are mostly zero, sorted dates without a trend, IDs in creation order without drift; and leaks of
several strengths with realistic noise (a refund after a relocation, a closing date not yet
written). `evals/calibrate_leaks.py` reads them; `tests/test_scoping_leaks.py` runs a small set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Case:
    name: str
    df: pd.DataFrame
    target: str
    leak: tuple[str, str] | None = None   # (family, column): post_outcome | missingness | identifier | dominant
    time_matters: bool | None = None      # planted answer for the structure check (None: not a time case)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _base(rng: np.random.Generator, n: int, strength: float, task: str = "binary") -> tuple[pd.DataFrame, np.ndarray]:
    """An ordinary table: numbers, categories, a count that is mostly zero, optional fields, and the target."""
    x1 = rng.normal(size=n)
    x2 = rng.lognormal(3, 0.7, n)
    count = rng.poisson(0.3, n)
    seg = rng.choice(["retail", "smb", "enterprise", "public"], n, p=[0.4, 0.3, 0.2, 0.1])
    region = rng.choice(["north", "south", "east", "west", "central"], n)
    seg_eff = pd.Series(seg).map({"retail": 0.0, "smb": 0.3, "enterprise": -0.4, "public": 0.2}).to_numpy()
    signal = strength * x1 + 0.4 * np.log(x2 / 20) + 0.3 * count + seg_eff + rng.normal(0, 1, n)
    trial = rng.random(n) < 0.3  # trial accounts: an honest value that rarely comes with a positive
    signal = np.where(trial, signal - 3, signal)
    vip = rng.random(n) < 0.02   # and a rare one that mostly does
    signal = np.where(vip, signal + 3, signal)
    optional = np.where(rng.random(n) < 0.6 + 0.1 * np.tanh(signal), rng.normal(50, 10, n), np.nan)  # honest signal
    df = pd.DataFrame({
        "score_a": np.round(x1, 3),
        "spend": np.round(x2, 2),
        "tickets": count,
        "segment": seg,
        "region": np.where(rng.random(n) < 0.03, None, region),
        "survey_score": np.round(optional, 1),
        "noise": np.round(rng.normal(size=n), 3),
        "account_type": np.where(trial, "trial", np.where(vip, "vip", "standard")),
    })
    if task == "regression":
        return df, signal * 10 + 100
    if task == "multiclass":
        cuts = np.quantile(signal, [0.3, 0.6, 0.85])
        return df, np.searchsorted(cuts, signal)
    return df, (rng.random(n) < _sigmoid(signal - np.quantile(signal, 0.7))).astype(int)


def clean_cases(seed: int = 0, sizes=(400, 3000, 15000)) -> list[Case]:
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        for strength in (0.5, 1.5, 3.0):
            for task in ("binary", "multiclass", "regression"):
                df, y = _base(rng, n, strength, task)
                df.insert(0, "customer_id", rng.permutation(n) + 10_000)          # a key in no order
                df["signup"] = pd.Timestamp("2023-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 700, n)), "D")
                df["target"] = y
                out.append(Case(f"clean_{task}_{n}_{strength}", df, "target", time_matters=False))
        df, y = _base(rng, n, 1.0)
        df.insert(0, "order_no", 500_000 + np.arange(n))                          # creation order, no drift
        df["target"] = y
        out.append(Case(f"clean_ordered_id_{n}", df, "target"))
        out += dominant_input_cases(rng, n)
    return out + bundled_cases()


def dominant_input_cases(rng: np.random.Generator, n: int) -> list[Case]:
    """Honest inputs that carry most of a numeric target beside weaker inputs (a size for a price, the
    hours for a job's cost): alone they reach R2 0.8 to 0.95, far above every other column, yet they are
    recorded before the outcome. The weaker inputs move the target by a tenth or more (`side`): with
    nothing else that matters, a dominant input and a column worked out from the outcome look the same."""
    out = []
    for r2, side in ((0.9, 0.2), (0.95, 0.15), (0.97, 0.3)):
        size = rng.uniform(400, 4000, n)
        discount = rng.uniform(0, 30, n)
        area = rng.choice(["oak", "pine", "elm", "birch"], n)
        lift = pd.Series(area).map({"oak": 1.0, "pine": 1.03, "elm": 0.97, "birch": 1.0}).to_numpy()
        value = 50 * size * (1 - side * discount / 30) * lift
        noise = np.std(value) * np.sqrt((1 - r2) / r2)
        df = pd.DataFrame({"listing": np.arange(n), "size": np.round(size), "discount": np.round(discount, 1),
                           "fee": np.round(rng.uniform(0, 1500, n), 2), "area": area,
                           "target": np.round(value + rng.normal(0, noise, n), -2)})
        out.append(Case(f"clean_dominant_input_{n}_{r2}_{side}", df, "target"))
        hours = rng.gamma(3, 10, n)                     # a job's cost: hours, a rate by trade, an urgency
        trade = rng.choice(["plumbing", "electrics", "joinery"], n)
        rate = pd.Series(trade).map({"plumbing": 60.0, "electrics": 70.0, "joinery": 55.0}).to_numpy()
        urgent = rng.random(n) < 0.2
        cost = hours * rate * (1 + side * 3 * urgent)
        noise = np.std(cost) * np.sqrt((1 - r2) / r2)
        df = pd.DataFrame({"hours": np.round(hours, 1), "trade": trade, "urgent": np.where(urgent, "yes", "no"),
                           "distance_km": np.round(rng.gamma(2, 5, n), 1),
                           "target": np.round(cost + rng.normal(0, noise, n), 2)})
        out.append(Case(f"clean_dominant_hours_{n}_{r2}_{side}", df, "target"))
    return out


def bundled_cases() -> list[Case]:
    """Real datasets shipped inside scikit-learn (no download)."""
    from sklearn import datasets

    out = []
    for name, loader in (("breast_cancer", datasets.load_breast_cancer), ("wine", datasets.load_wine),
                         ("iris", datasets.load_iris), ("diabetes", datasets.load_diabetes),
                         ("digits", datasets.load_digits)):
        bunch = loader(as_frame=True)
        df = bunch.frame.copy()
        target = "target"
        out.append(Case(f"sklearn_{name}", df, target))
    return out


def leak_cases(seed: int = 1, sizes=(600, 4000, 20000)) -> list[Case]:
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        for share in (0.25, 0.5, 0.9):          # share of the positives the leak marks
            for noise in (0.0, 0.01, 0.03):     # marks on negatives (a refund after a relocation)
                df, y = _base(rng, n, 1.0)
                pos = y == 1
                marked = (pos & (rng.random(n) < share)) | (~pos & (rng.random(n) < noise))
                kind = rng.integers(3)
                if kind == 0:   # a flag set after the outcome
                    df["refund_issued"] = np.where(marked, "yes", np.where(rng.random(n) < 0.5, "no", ""))
                    col, family = "refund_issued", "post_outcome"
                elif kind == 1:  # an amount that is zero until the outcome
                    df["refund_amount"] = np.where(marked, np.round(rng.lognormal(4, 0.5, n), 2), 0.0)
                    col, family = "refund_amount", "post_outcome"
                else:            # a date written only after the outcome
                    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D")
                    df["closed_on"] = np.where(marked, when.strftime("%Y-%m-%d"), "")
                    col, family = "closed_on", "missingness"
                df["target"] = y
                out.append(Case(f"leak_{family}_{col}_{n}_{share}_{noise}", df, "target", leak=(family, col)))
        for late_share, lift in ((0.3, 2.0), (0.5, 1.5), (0.4, 3.0)):   # an ID in creation order with drift
            df, y = _base(rng, n, 0.8)
            late = np.arange(n) >= int(n * (1 - late_share))
            y = (rng.random(n) < _sigmoid(-1.5 + 1.2 * df["score_a"].to_numpy() + lift * late)).astype(int)
            df.insert(0, "lead_id", 40_000 + np.sort(rng.choice(int(n * 1.3), n, replace=False)))
            df["target"] = y
            out.append(Case(f"leak_identifier_{n}_{late_share}_{lift}", df, "target", leak=("identifier", "lead_id")))
        for r2 in (0.9, 0.95, 0.99):            # regression: a column computed from the outcome
            df, y = _base(rng, n, 1.0, "regression")
            sd = np.std(y) * np.sqrt((1 - r2) / r2)
            df["final_amount"] = np.round(y + rng.normal(0, sd, n), 2)
            df["target"] = y
            out.append(Case(f"leak_dominant_{n}_{r2}", df, "target", leak=("dominant", "final_amount")))
        for noise in (0.0, 0.005, 0.02):        # regression: a per-unit figure worked out from the outcome
            area = rng.uniform(30, 250, n)
            price = area * rng.lognormal(8, 0.25, n) * np.exp(rng.normal(0, 0.1, n))
            df = pd.DataFrame({"area": np.round(area, 1), "rooms": np.clip(np.round(area / 30 + rng.normal(0, 1, n)), 1, None),
                               "floor": rng.integers(0, 12, n),
                               "price_per_unit": np.round(price / area * np.exp(rng.normal(0, noise, n)), 0),
                               "target": np.round(price, -2)})
            out.append(Case(f"leak_product_{n}_{noise}", df, "target", leak=("product", "price_per_unit")))
            # its control: the same kind of table, the target near (not exactly) a product of two inputs
            visits = rng.integers(100, 5000, n)
            rate = rng.uniform(0.01, 0.05, n)
            df = pd.DataFrame({"visits": visits, "conversion": np.round(rate, 4), "ads": rng.integers(0, 9, n),
                               "target": np.round(visits * rate * rng.lognormal(3, 0.3, n), 2)})
            out.append(Case(f"clean_near_product_{n}_{noise}", df, "target"))
    return out


def time_cases(seed: int = 2, sizes=(90, 400, 3000, 15000)) -> list[Case]:
    """Dated rows in time order, with and without a trend or seasons in the target."""
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        for effect in (0.0, 0.5, 1.0):
            df, _ = _base(rng, n, 1.0)
            days = np.sort(rng.integers(0, 720, n))
            drift = effect * (np.sin(2 * np.pi * days / 365) + days / 720)
            signal = 1.0 * df["score_a"].to_numpy() + drift + rng.normal(0, 1, n)
            df["created"] = (pd.Timestamp("2022-01-01") + pd.to_timedelta(days, "D")).strftime("%Y-%m-%d")
            df["target"] = (signal > np.quantile(signal, 0.6)).astype(int)
            planted = None if effect == 0.5 and n <= 400 else effect > 0  # a small, weak effect: either answer
            out.append(Case(f"time_{n}_{effect}", df, "target", time_matters=planted))
    return out
