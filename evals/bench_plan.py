"""Benchmark of `mlbot plan`: seconds to plan every stored scope, with and without the chart and the .ics.

    python evals/bench_plan.py [--scopes DIR] [--budget SECONDS] [--repeat N] [--json OUT]

Stored scopes come from real scope runs: the 14 client-like CSVs of ../shared/devsets/scope (written by its
make_dev_cases.py into a temporary folder) are scoped once through the real core and stored under one user
(or --scopes points at a folder of CSVs). Then, for every stored scope id, the core plans it `--repeat`
times: the plan alone (JSON and markdown), the plan with the Gantt PNG, and with the .ics. The first call
of the process is reported apart (it pays the imports, matplotlib's included), and so is a cold one-shot
`mlbot plan --scope ID --json` process. Goal (issue 14): a plan for any stored scope in under a second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DEVSET = ROOT.parent / "shared" / "devsets" / "scope"
GOAL_SECONDS = 1.0
USER = "bench"


def _csvs(folder: Path | None, work: Path) -> list[tuple[Path, str | None]]:
    if folder is not None:
        return [(p, None) for p in sorted(folder.glob("*.csv"))]
    maker = DEVSET / "make_dev_cases.py"
    if not maker.is_file():
        sys.exit(f"no CSVs: {maker} is missing; pass --scopes DIR")
    out = work / "dev"
    subprocess.run([sys.executable, str(maker), str(out)], check=True, capture_output=True)
    manifest = json.loads((out / "manifest.json").read_text())
    cases = manifest if isinstance(manifest, list) else manifest.get("cases", manifest.get("files", []))
    return [(out / c["file"], c.get("target")) for c in cases]


def _scope_all(core, csvs, budget: float) -> list[tuple[str, str]]:
    from bot.errors import UserError

    stored = []
    for path, target in csvs:
        try:
            result = core.scope(path=path, target=target, budget=budget, user_id=USER, chart=False)
            stored.append((path.name, result["scope_id"]))
        except UserError as exc:  # a file the scope refuses has no stored report to plan
            print(f"  {path.name}: not scoped ({exc.code})", file=sys.stderr)
    return stored


def _time(fn, repeat: int) -> tuple[float, float, float]:
    """Wall-clock median and max, and the median CPU time of the process (steadier on a busy machine)."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), max(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scopes", type=Path, help="a folder of CSVs to scope (default: the scope dev set)")
    ap.add_argument("--budget", type=float, default=3.0, help="scope time budget per file (seconds)")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)

    from bot.app import Core
    from bot.config import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        core = Core(load_settings(data_dir=work / "data"))
        try:
            print("scoping the CSVs once (stored under one user)...", file=sys.stderr)
            stored = _scope_all(core, _csvs(args.scopes, work), args.budget)
        finally:
            core.close()
        core = Core(load_settings(data_dir=work / "data"))  # a fresh core: planning pays its own imports
        t0 = time.perf_counter()
        core.plan(scope=stored[0][1], user_id=USER, chart=True, ics=True)
        first_call = time.perf_counter() - t0
        rows = []
        for name, sid in stored:
            plan = core.plan(scope=sid, user_id=USER)["plan"]
            alone = _time(lambda sid=sid: core.plan(scope=sid, user_id=USER), args.repeat)
            full = _time(lambda sid=sid: core.plan(scope=sid, user_id=USER, chart=True, ics=True), args.repeat)
            rows.append({"file": name, "scope": sid, "phases": len(plan["phases"]),
                         "working_days": plan["working_days"], "plan_p50_ms": alone[0] * 1000,
                         "plan_max_ms": alone[1] * 1000, "plan_cpu_ms": alone[2] * 1000,
                         "with_png_ics_p50_ms": full[0] * 1000, "with_png_ics_max_ms": full[1] * 1000,
                         "with_png_ics_cpu_ms": full[2] * 1000})
        t0 = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "bot.cli", "--data-dir", str(work / "data"), "plan", "--scope",
                              stored[0][1], "--user", USER, "--json"], capture_output=True, text=True, cwd=ROOT)
        cli_seconds = time.perf_counter() - t0
        assert cli.returncode == 0, cli.stderr

    print("\n| file | phases | working days | plan p50 / max / CPU ms | + PNG and .ics p50 / max / CPU ms |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['file']} | {r['phases']} | {r['working_days']} | {r['plan_p50_ms']:.1f} / {r['plan_max_ms']:.1f} / "
              f"{r['plan_cpu_ms']:.1f} | {r['with_png_ics_p50_ms']:.0f} / {r['with_png_ics_max_ms']:.0f} / "
              f"{r['with_png_ics_cpu_ms']:.0f} |")
    worst = max(max(r["plan_max_ms"], r["with_png_ics_max_ms"]) for r in rows) / 1000
    print(f"\nScopes planned: {len(rows)}. First call in a fresh core (imports, PNG, .ics): {first_call:.2f} s. "
          f"Cold one-shot `mlbot plan --json`: {cli_seconds:.2f} s.")
    print(f"Goal: every plan under {GOAL_SECONDS:g} s (warm, PNG and .ics included): worst {worst:.3f} s -> "
          f"{'met' if worst < GOAL_SECONDS else 'NOT met'}.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "first_call_s": first_call, "cli_s": cli_seconds,
                                         "worst_s": worst}, indent=2))
    return 0 if worst < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
