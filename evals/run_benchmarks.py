"""Run the speed and memory benchmarks one after another and print their tables.

    python evals/run_benchmarks.py [ask scope discord loaders plan peers]   (default: ask scope discord loaders plan)

`peers` (mlbot scope against dabl, lazypredict and FLAML in their own virtual environments) takes
one to two hours, so it runs only when named (`make bench-peers`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = {
    "ask": ["bench_ask.py"],
    "scope": ["bench_scope.py"],
    "discord": ["bench_discord.py"],
    "loaders": ["bench_loaders.py"],
    "plan": ["bench_plan.py"],
    "peers": ["bench_scope_peers.py"],
}


def main(argv: list[str]) -> int:
    names = argv or ["ask", "scope", "discord", "loaders", "plan"]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        script, *args = BENCHES[name]
        print(f"\n## {name} ({script})\n", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / script), *args], cwd=HERE.parent)
        print(f"\n({name}: {time.monotonic() - started:.0f} s, exit {code})", flush=True)
        if code:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
