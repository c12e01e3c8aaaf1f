"""Calibrate the frame-detection thresholds (config.yaml scope.frames) on generated tables.

    .venv/bin/python evals/calibrate_frames.py [--cases N]

Generates families of tables whose frame is known by construction (none of them the dev corpus):
  forecasting    panels and single series at hourly, daily, weekly and monthly steps, with gaps (missing
                 steps), ragged starts and extra columns
  recommender    user-item rating or 0/1 tables of several sizes and densities
  not forecasting  dated events (orders, visits, sales at irregular times), repeat-entity tables with a date
  not recommender  repeat customers with low-cardinality categories, one-to-one keys, entity-attribute tables
For each threshold it sweeps a grid with the others at their configured values and prints the share
of tables framed right (positives and negatives alike), then the value it recommends: the middle of
the widest run of grid values that reach the best accuracy (a margin either side). Prints one table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings  # noqa: E402
from bot.scoping.convert import convert_table  # noqa: E402
from bot.scoping.frames import find_recommender, time_index  # noqa: E402
from bot.scoping.load import load_table  # noqa: E402
from bot.scoping.profile import profile_table  # noqa: E402

GRIDS = {
    "min_timestamps": [5, 10, 15, 20, 30, 40, 60],
    "regular_share": [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99],
    "series_coverage": [0.1, 0.2, 0.3, 0.5, 0.7, 0.9],
    "min_entities": [5, 10, 20, 30, 50, 100],
    "min_per_entity": [1.2, 1.5, 2.0, 3.0, 5.0],
    "pair_unique": [0.5, 0.7, 0.8, 0.9, 0.95, 0.99],
    "rating_levels": [5, 7, 11, 15, 21],
}
FORECAST_KEYS = ("min_timestamps", "regular_share", "series_coverage")


# Generators: (DataFrame, target or None, kind in {"forecasting", "recommender", "other"}) ------------


def panel(rng, freq: str, steps: int, series: int, gaps: float, ragged: bool):
    stamps = pd.date_range("2020-01-06", periods=steps, freq=freq)
    rows = []
    for s in range(series):
        start = int(rng.integers(0, steps // 3)) if ragged else 0
        keep = rng.random(steps) >= gaps
        keep[:start] = False
        level = rng.uniform(50, 5000)
        y = level * (1 + 0.2 * np.sin(np.arange(steps) / 3.0)) * rng.lognormal(0, 0.1, steps)
        rows.append(pd.DataFrame({"t": stamps[keep].strftime("%Y-%m-%d %H:%M"), "site": f"site{s:03d}",
                                  "temp": rng.normal(10, 5, keep.sum()).round(1), "y": y[keep].round(2)}))
    df = pd.concat(rows).sort_values(["t", "site"]).reset_index(drop=True)
    if series == 1:
        df = df.drop(columns="site")
    return df, "y", "forecasting"


def events(rng, n: int, entities: int):
    """Orders at irregular times by repeat customers: a dated table that is not a time series."""
    t = pd.Timestamp("2021-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 700, n)), unit="D")
    df = pd.DataFrame({"t": t.strftime("%Y-%m-%d %H:%M"), "customer": [f"C{c:05d}" for c in rng.integers(0, entities, n)],
                       "items": rng.integers(1, 9, n), "y": rng.gamma(2, 40, n).round(2)})
    return df, "y", "other"


def daily_repeats(rng, days: int, per_day: int):
    """Several rows per day with no key that tells series apart (shifts, tickets): not a panel."""
    stamps = pd.date_range("2022-01-01", periods=days, freq="D").repeat(per_day)
    df = pd.DataFrame({"t": stamps.strftime("%Y-%m-%d"), "team": rng.choice(["a", "b", "c"], len(stamps)),
                       "y": rng.normal(100, 20, len(stamps)).round(1)})
    return df, "y", "other"


def rating_table(rng, users: int, items: int, per_user: int, binary: bool):
    rows = []
    bu, bi = rng.normal(0, 0.5, users), rng.normal(0, 0.5, items)
    for u in range(users):
        for i in rng.choice(items, min(per_user, items), replace=False):
            v = 3 + bu[u] + bi[i] + rng.normal(0, 0.8)
            rows.append((f"user{u:05d}", f"item{i:05d}", int(v > 3) if binary else int(np.clip(round(v), 1, 5)),
                         rng.choice(["ios", "android", "web"])))
    df = pd.DataFrame(rows, columns=["who", "what", "r", "device"]).sample(frac=1, random_state=0)
    return df, None, "recommender"


def repeat_customers(rng, n: int, entities: int):
    df = pd.DataFrame({"customer": [f"C{c:05d}" for c in rng.integers(0, entities, n)],
                       "plan": rng.choice(["basic", "plus", "pro"], n), "region": rng.choice(list("NSEW"), n),
                       "spend": rng.gamma(2, 20, n).round(2)})
    df["y"] = (rng.random(n) < 0.3).astype(int)
    return df, "y", "other"


def entity_attributes(rng, n: int):
    """Each customer once with an account manager: two ID-like columns that are not an interaction matrix."""
    managers = rng.integers(0, max(n // 40, 5), n)
    df = pd.DataFrame({"customer": [f"C{c:06d}" for c in range(n)], "manager": [f"M{m:04d}" for m in managers],
                       "seats": rng.integers(1, 200, n)})
    df["y"] = rng.integers(1, 6, n)
    return df, None, "other"


def cases(rng, count: int):
    out = []
    for _ in range(count):
        for freq, steps in (("h", 24 * 20), ("D", 400), ("W-MON", 156), ("MS", 72)):
            out.append(panel(rng, freq, steps, int(rng.choice([1, 4, 30])), float(rng.choice([0.0, 0.05, 0.15])),
                             bool(rng.random() < 0.4)))
        out.append(events(rng, int(rng.integers(500, 4000)), int(rng.integers(50, 800))))
        out.append(daily_repeats(rng, int(rng.integers(60, 400)), int(rng.integers(2, 6))))
        out.append(rating_table(rng, int(rng.integers(60, 600)), int(rng.integers(30, 400)),
                                int(rng.integers(5, 40)), bool(rng.random() < 0.3)))
        out.append(repeat_customers(rng, int(rng.integers(800, 5000)), int(rng.integers(50, 500))))
        out.append(entity_attributes(rng, int(rng.integers(300, 3000))))
    return out


# Judging -------------------------------------------------------------------------------------------


def typed(df: pd.DataFrame, scope):
    raw = load_table(path=None, data=df.to_csv(index=False).encode(), filename="case.csv", limits=scope)
    table = convert_table(raw, scope)
    return table.frame, profile_table(table)


def framed(table, profile, target: str | None, limits) -> str:
    if find_recommender(table, profile, target, limits) is not None:
        return "recommender"
    if target is None:
        return "other"
    rows = np.flatnonzero(np.isfinite(np.asarray(table[target], dtype=float)))
    for col, c in profile.columns.items():
        if c.kind == "datetime" and col != target and time_index(table, profile, rows, col, limits) is not None:
            return "forecasting"
    return "other"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=6, help="tables per family (default 6)")
    args = ap.parse_args()
    settings = load_settings(env={})
    scope = settings.scope
    base = scope.frames.model_dump()
    rng = np.random.default_rng(0)
    typed_cases = [(typed(df, scope), target, kind) for df, target, kind in cases(rng, args.cases)]
    print(f"{len(typed_cases)} generated tables: "
          + ", ".join(f"{k} {sum(1 for *_, x in typed_cases if x == k)}" for k in ("forecasting", "recommender", "other")))
    print(f"{'threshold':<18} {'configured':>10}  accuracy by value" + " " * 30 + "recommended")
    for key, grid in GRIDS.items():
        accs = []
        for value in grid:
            limits = SimpleNamespace(frames=SimpleNamespace(**{**base, key: value}))
            right = sum(framed(t, p, target, limits) == kind for (t, p), target, kind in typed_cases)
            accs.append(right / len(typed_cases))
        best = max(accs)
        runs, run = [], []
        for value, acc in zip(grid, accs, strict=True):
            if acc == best:
                run.append(value)
            elif run:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
        widest = max(runs, key=len)
        pick = widest[len(widest) // 2]
        cells = " ".join(f"{v:g}:{a:.3f}" for v, a in zip(grid, accs, strict=True))
        print(f"{key:<18} {base[key]:>10g}  {cells:<60} {pick:g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
