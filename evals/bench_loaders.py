"""Guide loading speed: nested HTML lists (once quadratic: 8,000 nested items took 19 s while holding the
ingest write lock) and a large Markdown guide through the sentence screen. Prints one table.

    python evals/bench_loaders.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge.loaders import load_guide  # noqa: E402


def nested_list(n: int) -> bytes:
    return ("<html><body><h1>Checklist</h1>" + "".join(f"<ul><li>step {i} check" for i in range(n))
            + "</li></ul>" * n + "</body></html>").encode()


def flat_list(n: int) -> bytes:
    return ("<html><body><h1>Checklist</h1><ul>" + "".join(f"<li>step {i} check</li>" for i in range(n))
            + "</ul></body></html>").encode()


def markdown(mb: float) -> bytes:
    para = ("Quote a range, not a point: state the assumptions behind each end and the data that would move "
            "the estimate. Send the statement of work to the client before the kick-off call. ")
    sections = [f"## Section {i}\n\n{para * 4}\n" for i in range(int(mb * 1_000_000 / (len(para) * 4 + 20)))]
    return ("# Large guide\n\n" + "\n".join(sections)).encode()


def measure(name: str, path: str, raw: bytes) -> tuple[str, float, float, int]:
    started = time.perf_counter()
    guide = load_guide(Path(path), raw)
    seconds = time.perf_counter() - started
    return name, len(raw) / 1024, seconds, sum(len(s.text) for s in guide.sections)


def main() -> int:
    rows = [measure(f"nested <li> x {n:,}", "deep.html", nested_list(n)) for n in (1000, 2000, 4000, 8000)]
    rows += [measure(f"flat <li> x {n:,}", "flat.html", flat_list(n)) for n in (8000, 32000)]
    rows += [measure("markdown 4.5 MB", "big.md", markdown(4.5))]
    print("| input | KB | seconds | text chars |")
    print("|---|---:|---:|---:|")
    for name, kb, seconds, chars in rows:
        print(f"| {name} | {kb:,.0f} | {seconds:.2f} | {chars:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
