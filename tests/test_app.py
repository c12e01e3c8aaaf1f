"""The core facade: lazily built components are built once, whatever the threads; fronts use only its methods."""

from __future__ import annotations

import re
import threading
import time

from bot.knowledge.service import KnowledgeBase
from bot.lazy import lazy
from tests.conftest import ROOT, make_core


def _race(n: int, first_use) -> list:
    barrier = threading.Barrier(n)
    got: list = []

    def run() -> None:
        barrier.wait()
        got.append(first_use())

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return got


def test_lazy_builds_once_per_instance_under_concurrent_first_use():
    class Slow:
        builds = 0

        @lazy
        def part(self):
            Slow.builds += 1
            time.sleep(0.1)
            return object()

    a, b = Slow(), Slow()
    got = _race(6, lambda: a.part) + _race(6, lambda: b.part)
    assert Slow.builds == 2  # one per instance, never one per thread
    assert len({id(x) for x in got[:6]}) == 1 and len({id(x) for x in got[6:]}) == 1 and got[0] is not got[6]


def test_two_threads_never_build_two_knowledge_bases(tmp_path, monkeypatch):
    """Python 3.12 dropped cached_property's lock: first use from two core threads built two knowledge
    bases, each with its own ingest write lock."""
    built = []
    real_init = KnowledgeBase.__init__

    def slow_init(self, *args, **kwargs):
        built.append(self)
        time.sleep(0.2)  # a wide window for a second thread
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(KnowledgeBase, "__init__", slow_init)
    core = make_core(tmp_path / "data")
    bases = _race(4, lambda: core.knowledge)
    assert len(built) == 1 and all(kb is bases[0] for kb in bases)
    locks = _race(4, lambda: core.knowledge.ingestor._write_lock)
    assert all(lock is locks[0] for lock in locks)


def test_fronts_call_the_core_only():
    """The Discord bot, the CLI and the console reach the store, the index and the workers through Core."""
    fronts = [*(ROOT / "bot" / "discord").rglob("*.py"), ROOT / "bot" / "cli.py", ROOT / "bot" / "console.py"]
    offenders = []
    for path in fronts:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\bcore\.(store|knowledge|scoper|ratebook|skills)\b", line):
                offenders.append(f"{path.name}:{n}")
    assert offenders == []
