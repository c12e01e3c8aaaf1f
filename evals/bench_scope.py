"""Benchmark of `mlbot scope`: speed, memory and quality on real and synthetic tables.

    python evals/bench_scope.py [--only NAME ...] [--budget SECONDS] [--json OUT]

Runs every dataset through the real worker (ScopeRunner: forkserver, RLIMIT_AS, one BLAS thread)
and prints one table: rows x columns, task, best model and its score, the dummy, whole-report
seconds, seconds to the first baseline score (progress), and the worker's peak RSS. Datasets:
scikit-learn's bundled tables and palmerpenguins (real), a 10k-row "real-ish" customer table,
and synthetic 100k x 30 and 1M x 20 files. Files are generated into a temporary folder (nothing
is downloaded) and deleted afterwards. Goals (issue 5): <= 10 s and first scores <= 3 s under
10k rows; 100k x 30 <= 30 s and 1.5 GB; 1M x 20 <= 90 s and 2 GB.

The side-by-side comparison with dabl, lazypredict and FLAML (each in its own virtualenv under
evals/.peers) is `evals/bench_scope_peers.py`. Seconds here are the warm worker's (the forkserver
has its imports loaded, as in the Discord bot); a one-shot `mlbot scope` adds process start.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# (seconds, first score seconds, peak RSS MB): every table under 10k rows, and the two large files
SMALL_GOAL = (10, 3, None)
GOALS = {"synthetic_100k_30": (30, None, 1536), "synthetic_1m_20": (90, None, 2048)}


def _sklearn(loader: Callable, target: str = "target") -> Callable[[Path], tuple[Path, str]]:
    def make(folder: Path) -> tuple[Path, str]:
        data = loader(as_frame=True)
        frame = data.frame.rename(columns={"target": target})
        path = folder / f"{loader.__name__.replace('load_', '')}.csv"
        frame.to_csv(path, index=False)
        return path, target
    return make


def _penguins(folder: Path) -> tuple[Path, str]:
    from palmerpenguins import load_penguins

    path = folder / "penguins.csv"
    load_penguins().to_csv(path, index=False)
    return path, "species"


def _realish(folder: Path, n: int = 10_000) -> tuple[Path, str]:
    """A customer-churn-like table with the usual mess: IDs, dates, money as text, missing values."""
    rng = np.random.default_rng(7)
    plan = rng.choice(["basic", "plus", "pro", "team"], n, p=[0.45, 0.3, 0.2, 0.05])
    region = rng.choice([f"region_{k}" for k in range(12)], n)
    tenure = rng.integers(1, 72, n)
    fee = np.select([plan == "basic", plan == "plus", plan == "pro"], [19.99, 39.99, 79.99], 199.0)
    usage = rng.gamma(2.0, 10.0, n) * (1 + (plan == "pro"))
    tickets = rng.poisson(1.0 + (usage < 10) * 1.5, n)
    last_login = rng.exponential(10, n).round()
    age = rng.normal(40, 12, n).round()
    sat = rng.integers(1, 6, n)
    logit = (-1.2 - 0.04 * tenure + 0.35 * tickets + 0.05 * last_login - 0.3 * (sat - 3) - 0.02 * usage
             + 0.4 * (plan == "basic") + rng.normal(0, 0.5, n))
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    start = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    frame = pd.DataFrame({
        "customer_id": [f"C{k:06d}" for k in rng.permutation(n)],
        "signup_date": start.strftime("%Y-%m-%d"),
        "plan": plan, "region": region, "tenure_months": tenure,
        "monthly_fee": [f"${x:,.2f}" for x in fee],
        "usage_hours": np.where(rng.random(n) < 0.05, np.nan, usage.round(1)),
        "support_tickets": tickets, "days_since_login": last_login,
        "age": np.where(rng.random(n) < 0.12, np.nan, age),
        "satisfaction": sat,
        "payment": rng.choice(["card", "invoice", "paypal", "direct debit"], n),
        "churned": np.where(churn, "yes", "no"),
    })
    path = folder / "realish_10k.csv"
    frame.to_csv(path, index=False)
    return path, "churned"


def _synthetic(n: int, p: int, name: str) -> Callable[[Path], tuple[Path, str]]:
    def make(folder: Path) -> tuple[Path, str]:
        rng = np.random.default_rng(n + p)
        path = folder / f"{name}.csv"
        cats = max(2, p // 6)
        nums = p - cats
        chunk = 200_000
        with open(path, "w", encoding="utf-8", newline="") as fh:
            for start in range(0, n, chunk):
                m = min(chunk, n - start)
                X = rng.normal(size=(m, nums)).round(4)
                C = rng.integers(0, 8, size=(m, cats))
                score = X[:, 0] + 0.5 * X[:, 1] * X[:, 2] + 0.3 * (C[:, 0] == 3) - 0.2 * X[:, 3] ** 2 + rng.normal(0, 1, m)
                frame = pd.DataFrame(X, columns=[f"x{k}" for k in range(nums)])
                for k in range(cats):
                    frame[f"c{k}"] = np.char.add("cat_", C[:, k].astype(str))
                frame["target"] = (score > 0).astype(int)
                frame.to_csv(fh, index=False, header=start == 0)
        return path, "target"
    return make


def datasets() -> dict[str, Callable[[Path], tuple[Path, str]]]:
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine

    return {
        "breast_cancer": _sklearn(load_breast_cancer), "iris": _sklearn(load_iris), "wine": _sklearn(load_wine),
        "diabetes": _sklearn(load_diabetes), "digits": _sklearn(load_digits), "penguins": _penguins,
        "realish_10k": _realish, "synthetic_100k_30": _synthetic(100_000, 30, "synthetic_100k_30"),
        "synthetic_1m_20": _synthetic(1_000_000, 20, "synthetic_1m_20"),
    }


def run_ours(runner, path: Path, target: str, budget: float | None) -> dict:
    from bot.scoping.worker import ScopeRequest

    first: list[float] = []
    started = time.monotonic()

    def progress(stage: str, info: dict) -> None:
        if stage == "baselines" and not first:
            first.append(time.monotonic() - started)

    result = runner.run(ScopeRequest(path=str(path), data=None, filename=path.name, target=target, budget=budget),
                        progress=progress, timeout=600)
    rep = result.report
    return {"rows": rep["rows"], "columns": rep["columns"], "task": rep["task"], "metric": rep["metric"],
            "best": rep["best"]["model"], "score": rep["best"]["score"], "checked": rep["best"].get("checked", {}).get("score"),
            "dummy": rep["dummy"], "seconds": round(time.monotonic() - started, 2),
            "first_score_s": round(first[0], 2) if first else None,
            "peak_rss_mb": rep.get("resources", {}).get("peak_rss_mb")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark mlbot scope (speed, memory, quality).")
    parser.add_argument("--only", nargs="*", help="dataset names to run (default: all)")
    parser.add_argument("--budget", type=float, default=None, help="baseline budget in seconds (default: config)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)

    from bot.config import load_settings
    from bot.scoping.worker import ScopeRunner

    settings = load_settings()
    runner = ScopeRunner(settings)
    t0 = time.monotonic()
    runner.warm()
    rows = []
    chosen = {k: v for k, v in datasets().items() if not args.only or k in args.only}
    with tempfile.TemporaryDirectory(prefix="bench-scope-") as tmp:
        folder = Path(tmp)
        # one throwaway job so the forkserver's imports are not billed to the first dataset
        warm_path, warm_target = _sklearn(__import__("sklearn.datasets", fromlist=["load_iris"]).load_iris)(folder)
        run_ours(runner, warm_path, warm_target, 2)
        print(f"worker warm in {time.monotonic() - t0:.1f} s", flush=True)
        for name, make in chosen.items():
            path, target = make(folder)
            try:
                row = {"dataset": name, **run_ours(runner, path, target, args.budget)}
            except Exception as exc:  # a benchmark row, not a crash of the whole table
                row = {"dataset": name, "error": f"{type(exc).__name__}: {exc}"}
            rows.append(row)
            print(_line(row), flush=True)
    runner.close()
    print()
    print(_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


HEAD = ("dataset", "rows", "cols", "task", "metric", "best", "score", "checked", "dummy", "seconds", "first_s",
        "rss_mb", "goal")


def _goal(row: dict) -> str:
    if "seconds" not in row:
        return ""
    goal = GOALS.get(row["dataset"]) or (SMALL_GOAL if row.get("rows", 0) <= 10_000 else None)
    if not goal:
        return ""
    secs, first, rss = goal
    ok = row["seconds"] <= secs and (first is None or (row["first_score_s"] or 99) <= first) and (
        rss is None or (row["peak_rss_mb"] or 0) <= rss)
    return "met" if ok else "MISSED"


def _line(row: dict) -> str:
    if "error" in row:
        return f"{row['dataset']}: {row['error']}"
    return (f"{row['dataset']}: {row['task']} {row['metric']} best {row['best']} {row['score']} (dummy {row['dummy']}) "
            f"in {row['seconds']} s, first score {row['first_score_s']} s, peak RSS {row['peak_rss_mb']} MB")


def _table(rows: list[dict]) -> str:
    lines = [" | ".join(HEAD), " | ".join("---" for _ in HEAD)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['dataset']} | error: {r['error']}")
            continue
        cells = [r["dataset"], f"{r['rows']:,}", str(r["columns"]), r["task"], r["metric"], r["best"],
                 f"{r['score']:.4f}" if r["score"] is not None else "-",
                 f"{r['checked']:.4f}" if r.get("checked") is not None else "-",
                 f"{r['dummy']:.4f}" if r["dummy"] is not None else "-", f"{r['seconds']:.1f}",
                 f"{r['first_score_s']:.1f}" if r["first_score_s"] is not None else "-",
                 f"{r['peak_rss_mb']:.0f}" if r["peak_rss_mb"] is not None else "-", _goal(r)]
        lines.append(" | ".join(cells))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
