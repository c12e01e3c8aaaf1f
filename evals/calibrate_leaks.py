"""Calibrate the leak and structure thresholds (scope.leakage, scope.structure in config.yaml).

    .venv/bin/python evals/calibrate_leaks.py [--quick]

Runs the leak scan and the time-order test on planted leaks and clean controls (evals/leak_cases.py:
generated client-like tables and scikit-learn's bundled datasets) for a grid of thresholds, one rule
family at a time, and prints for each setting how many planted leaks it finds and how many false
alarms it raises (any leak finding on a clean table, or on a column other than the planted one).
The chosen setting per family is the one that finds the most planted leaks with no false alarm
while the next looser value of its main threshold (the grid's first column) has none either, a
margin of one step (ties: the strictest); it is printed to copy into config.yaml, next to the
current values.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from leak_cases import Case, clean_cases, leak_cases, time_cases  # noqa: E402

from bot.config import LeakChecks, Scope, StructureChecks  # noqa: E402
from bot.scoping.convert import convert_table  # noqa: E402
from bot.scoping.leaks import judge, scan_columns  # noqa: E402
from bot.scoping.load import load_table  # noqa: E402
from bot.scoping.profile import profile_table  # noqa: E402
from bot.scoping.target import build_target  # noqa: E402
from bot.scoping.validation import find_structure  # noqa: E402

OFF = {"pure": {"pure_coverage": 2.0}, "dominance": {"dominance_skill": 2.0}, "identifier": {"id_skill": 2.0},
       "product": {"product_corr": 2.0}}
FAMILIES = {
    "pure": {"pure_share": (0.9, 0.95, 0.98), "pure_coverage": (0.1, 0.2, 0.3), "pure_ratio": (2.0, 3.0, 5.0)},
    "dominance": {"dominance_skill": (0.7, 0.8, 0.9, 0.95), "dominance_ratio": (1.5, 2.0, 3.0),
                  "dominance_explained": (0.02, 0.05, 0.1, 0.2)},
    "identifier": {"id_skill": (0.05, 0.1, 0.15, 0.2), "id_z": (4.0, 6.0, 8.0)},
    "product": {"product_corr": (0.95, 0.98, 0.99, 0.995)},
}
FAMILY_OF = {"post_outcome": "pure", "missingness": "pure", "dominant": "dominance", "identifier": "identifier",
             "product": "product"}
TIME_GRID = {"time_skill": (0.01, 0.02, 0.05), "time_z": (3.0, 4.0, 6.0, 8.0)}


def prepared(case: Case, limits: Scope):
    data = case.df.to_csv(index=False).encode("utf-8")
    table = convert_table(load_table(path=None, data=data, filename=f"{case.name}.csv", limits=limits), limits)
    profile = profile_table(table)
    target = build_target(table.frame, profile, table.display, case.target, "auto", limits)
    return table, profile, target


def settings(family: str):
    """Each setting of one family's grid, with the other families switched off (the near-perfect rule stays)."""
    grid = FAMILIES[family]
    off = {k: v for other, keys in OFF.items() if other != family for k, v in keys.items()}
    for values in itertools.product(*grid.values()):
        chosen = dict(zip(grid, values, strict=True))
        yield chosen, LeakChecks.model_construct(**{**LeakChecks().model_dump(), **off, **chosen})


_SCANS: dict[tuple[str, float], object] = {}


def score(family: str, cases: list[tuple[Case, tuple]], checks: LeakChecks) -> tuple[int, int, int]:
    """(planted leaks of this family found, their number, false alarms) under `checks`."""
    found = total = alarms = 0
    for case, (table, profile, target) in cases:
        key = (case.name, checks.pure_share)
        if key not in _SCANS:  # the scan depends on pure_share only; the other thresholds judge it
            _SCANS[key] = scan_columns(table.frame, profile, target, 0, checks)
        scan = _SCANS[key]
        leaks = judge(scan, table.frame, target, table.display, checks) if scan is not None else []
        flagged = {lk.column for lk in leaks}
        planted = case.leak[1] if case.leak else None
        if case.leak and FAMILY_OF[case.leak[0]] == family:
            total += 1
            found += planted in flagged
        alarms += len(flagged - {planted})
    return found, total, alarms


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    limits = Scope()
    started = time.monotonic()
    sizes = dict(sizes=(400, 3000)) if quick else {}
    cases = [(c, prepared(c, limits)) for c in clean_cases(**sizes) + leak_cases(**({"sizes": (600, 4000)} if quick else {}))]
    print(f"{len(cases)} cases prepared in {time.monotonic() - started:.0f} s "
          f"({sum(c.leak is None for c, _ in cases)} clean, {sum(c.leak is not None for c, _ in cases)} planted leaks)")
    chosen_all: dict[str, float] = {}
    for family in FAMILIES:
        rows = []
        for chosen, checks in settings(family):
            rows.append((chosen, *score(family, cases, checks)))
        print(f"\n{family}: " + " | ".join(FAMILIES[family]) + " | found | false alarms")
        for chosen, found, total, alarms in rows:
            print("  " + " | ".join(f"{v:g}" for v in chosen.values()) + f" | {found}/{total} | {alarms}")
        best = _choose(rows, FAMILIES[family])
        if best:
            chosen_all.update(best[0])
            print(f"  chosen: {best[0]} ({best[1]}/{best[2]} found, no false alarm)")
        else:
            print("  no setting is free of false alarms")
    time_rows = calibrate_time(limits)
    chosen_all.update(time_rows)
    current = {**LeakChecks().model_dump(), **StructureChecks().model_dump()}
    print("\nchosen thresholds (config.yaml scope.leakage / scope.structure; current in brackets):")
    for k, v in chosen_all.items():
        print(f"  {k}: {v:g}   [{current[k]:g}]")
    print(f"\n{time.monotonic() - started:.0f} s")
    return 0


def _choose(rows: list[tuple], grid: dict[str, tuple]) -> tuple | None:
    """Most planted leaks found with no false alarm, one step away from any setting with false alarms."""
    main, steps = next(iter(grid.items()))
    alarms = {tuple(chosen.values()): a for chosen, _, _, a in rows}

    def safe(chosen: dict) -> bool:
        at = steps.index(chosen[main])
        if alarms[tuple(chosen.values())] or at == 0:
            return not alarms[tuple(chosen.values())]
        looser = dict(chosen, **{main: steps[at - 1]})
        return not alarms[tuple(looser.values())]

    ok = [r for r in rows if safe(r[0])]
    return max(ok, key=lambda r: (r[1], sum(r[0].values()))) if ok else None


def calibrate_time(limits: Scope) -> dict[str, float]:
    cases = [(c, prepared(c, limits)) for c in time_cases() + clean_cases(sizes=(400, 3000))]
    cases = [(c, p) for c, p in cases if c.time_matters is not None]
    rows = []
    for values in itertools.product(*TIME_GRID.values()):
        chosen = dict(zip(TIME_GRID, values, strict=True))
        checks = StructureChecks(**chosen)
        found = total = alarms = 0
        for case, (table, profile, target) in cases:
            s = find_structure(table.frame, profile, target, limits.cv_folds, 0, checks)
            if case.time_matters:
                total += 1
                found += s.time_matters
            else:
                alarms += s.time_matters
        rows.append((chosen, found, total, alarms))
    print("\ntime order matters: " + " | ".join(TIME_GRID) + " | found | false alarms")
    for chosen, found, total, alarms in rows:
        print("  " + " | ".join(f"{v:g}" for v in chosen.values()) + f" | {found}/{total} | {alarms}")
    best = _choose(rows, TIME_GRID)
    if best:
        print(f"  chosen: {best[0]} ({best[1]}/{best[2]} found, no false alarm)")
        return best[0]
    return {}


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
