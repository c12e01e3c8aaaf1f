"""The scope queue, the throttled progress and the token budget (asyncio only, no Discord)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import discord
import pytest

from bot.discord.jobs import Progress, ScopeQueue, progress_text, token_seconds_left
from bot.errors import Busy


async def test_queue_runs_workers_queues_the_next_and_refuses_the_rest():
    queue = ScopeQueue(workers=1, waiting=2)
    release = threading.Event()
    started: list[str] = []

    def job(name: str) -> str:
        started.append(name)
        release.wait(5)
        return name

    async def submit(name: str) -> str:
        async with queue.turn():
            return await queue.run(job, name)

    first = asyncio.create_task(submit("a"))
    await asyncio.sleep(0.05)
    assert queue.running == 1 and queue.position() == 1
    queued = [asyncio.create_task(submit(n)) for n in ("b", "c")]
    await asyncio.sleep(0.05)
    assert queue.waiting == 2
    with pytest.raises(Busy):
        queue.position()
    with pytest.raises(Busy):
        async with queue.turn():
            pass
    release.set()
    assert await asyncio.gather(first, *queued) == ["a", "b", "c"]
    assert started == ["a", "b", "c"] and queue.running == 0 and queue.waiting == 0
    queue.close()


async def test_a_failing_job_does_not_stop_the_others():
    queue = ScopeQueue(workers=1, waiting=4)

    def job(ok: bool) -> str:
        if not ok:
            raise RuntimeError("worker crashed")
        return "done"

    async def submit(ok: bool):
        async with queue.turn():
            return await queue.run(job, ok)

    results = await asyncio.gather(submit(False), submit(True), submit(True), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1:] == ["done", "done"]
    queue.close()


async def test_a_cancelled_waiter_leaves_the_queue():
    queue = ScopeQueue(workers=1, waiting=1)
    release = threading.Event()

    async def submit():
        async with queue.turn():
            return await queue.run(release.wait, 5)

    first = asyncio.create_task(submit())
    await asyncio.sleep(0.05)
    second = asyncio.create_task(submit())
    await asyncio.sleep(0.05)
    assert queue.waiting == 1
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    assert queue.waiting == 0 and queue.position() == 1
    release.set()
    await first
    queue.close()


async def test_queue_wait_is_bounded_by_the_token_budget():
    queue = ScopeQueue(workers=1, waiting=1)
    release = threading.Event()

    async def hold():
        async with queue.turn():
            await queue.run(release.wait, 5)

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0.05)
    with pytest.raises(Busy, match="did not clear in time"):
        async with queue.turn(timeout=0.05):
            pass
    release.set()
    await holder
    queue.close()


async def test_progress_from_a_thread_is_throttled_and_ends_on_the_newest_state():
    loop = asyncio.get_running_loop()
    edits: list[tuple[float, str]] = []

    async def edit(text: str) -> None:
        edits.append((time.perf_counter(), text))

    progress = Progress(loop, edit, progress_text, interval=0.2)

    def work():
        for i in range(1, 41):
            progress("baselines", {"i": i, "n": 40, "model": "dummy"})
            time.sleep(0.01)

    await asyncio.to_thread(work)
    await asyncio.sleep(0.5)
    await progress.close()
    assert 2 <= len(edits) <= 6
    assert edits[-1][1] == "⏳ Baselines 40/40: dummy…"
    gaps = [b[0] - a[0] for a, b in zip(edits, edits[1:], strict=False)]
    assert all(g >= 0.19 for g in gaps)
    progress("estimate", {})  # after close: ignored
    await asyncio.sleep(0.05)
    assert edits[-1][1].startswith("⏳ Baselines 40/40")


def test_progress_text_and_token_budget():
    assert progress_text("done", {}) is None
    assert progress_text("profiling", {}) == "⏳ Profiling columns…"
    line = progress_text("baselines", {"i": 3, "n": 7, "model": "hist_gbm",
                                       "best": {"model": "logistic", "score": 0.99123, "metric": "roc_auc"}})
    assert line == "⏳ Baselines 3/7: hist_gbm… · best so far: logistic ROC-AUC 0.991"
    assert progress_text("baselines", {"i": 1, "n": 7, "model": "dummy", "best": None}) == "⏳ Baselines 1/7: dummy…"
    now = discord.utils.utcnow()
    assert 13 * 60 < token_seconds_left(now, now) <= 14 * 60
    assert token_seconds_left(now - timedelta(minutes=14, seconds=30), now) < 0
