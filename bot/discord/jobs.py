"""Scope jobs: a bounded queue in front of the core's isolated scope worker.

`settings.discord.scope_workers` scopes run at once (each blocks one thread of a dedicated pool while the
core's worker process does the work under its own hard time limit), `scope_queue` more wait their turn,
and anyone beyond that is told "busy, try later" at once. One scope per user at a time, across processes,
through the store's slots. A job that fails (a crashed worker included) is reported to its user only;
the other jobs keep running. Progress from the worker thread hops to the loop and is throttled to about
one edit per second. Everything a job does must finish inside the interaction token's 15 minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import discord

from bot.errors import Busy
from bot.scoping.render import leader_text

log = logging.getLogger("bot.discord.jobs")

TOKEN_LIFETIME = timedelta(minutes=15)
TOKEN_MARGIN = timedelta(seconds=60)  # keep this much of the token for the final edit
MIN_JOB_SECONDS = 20.0  # below this much token left, a queued job gives up instead of starting


def token_seconds_left(created_at: datetime, now: datetime | None = None) -> float:
    """Seconds an interaction token still allows for work, keeping a margin for the final reply."""
    now = now or discord.utils.utcnow()
    return (created_at + TOKEN_LIFETIME - TOKEN_MARGIN - now).total_seconds()


class ScopeQueue:
    """Run at most `workers` blocking jobs at once with at most `waiting` more queued."""

    def __init__(self, workers: int, waiting: int):
        self.workers = workers
        self.max_waiting = waiting
        self.running = 0
        self.waiting = 0
        self._sem: asyncio.Semaphore | None = None
        self._pool: ThreadPoolExecutor | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.workers)
        return self._sem

    def executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="mlbot-scope")
        return self._pool

    def position(self) -> int:
        """0 when a job would start now, else its place in the queue; raises Busy when full."""
        if self.running + self.waiting < self.workers:
            return 0
        if self.waiting >= self.max_waiting:
            raise Busy("I'm busy with other scopes right now, and the queue is full.",
                       hint="Please try again in a few minutes.")
        return self.waiting + 1

    @contextlib.asynccontextmanager
    async def turn(self, *, timeout: float | None = None) -> AsyncIterator[None]:
        """Wait for a free worker (at most `timeout` s); raise Busy when the queue is full."""
        self.position()
        sem = self._semaphore()
        self.waiting += 1
        try:
            if timeout is None:
                await sem.acquire()
            else:
                try:
                    await asyncio.wait_for(sem.acquire(), timeout)
                except TimeoutError:
                    raise Busy("the queue did not clear in time for this request.",
                               hint="Please run the scope again.") from None
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            sem.release()

    async def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor(), functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class Progress:
    """Thread-safe progress callback that edits one message at most about once a second."""

    def __init__(self, loop: asyncio.AbstractEventLoop, edit: Callable[[str], Awaitable[Any]],
                 render: Callable[[str, dict[str, Any]], str | None], *, interval: float = 1.0):
        self._loop = loop
        self._context = contextvars.copy_context()  # the loop side's context (webhook adapter, etc.)
        self._edit = edit
        self._render = render
        self._interval = interval
        self._last = 0.0
        self._pending: str | None = None
        self._shown: str | None = None
        self._task: asyncio.Task | None = None
        self._closed = False
        self._editing = False

    def __call__(self, stage: str, info: dict[str, Any]) -> None:
        """Called from the worker thread."""
        text = self._render(stage, info)
        if text is not None and not self._closed:
            self._loop.call_soon_threadsafe(self._update, text, context=self._context)

    def _update(self, text: str) -> None:
        if self._closed or text == self._shown:
            return
        self._pending = text
        if self._task is None or self._task.done():
            self._task = self._loop.create_task(self._flush())

    async def _flush(self) -> None:
        while self._pending is not None and not self._closed:
            wait = self._last + self._interval - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)  # real seconds, then show the newest state
                continue
            text, self._pending = self._pending, None
            self._last = time.perf_counter()
            self._editing = True
            try:
                await self._edit(text)
                self._shown = text
            except discord.HTTPException as exc:
                log.warning("progress edit failed status=%s", getattr(exc, "status", "?"))
                return
            finally:
                self._editing = False

    async def close(self) -> None:
        """Stop editing; let an edit in flight finish so it cannot overwrite the result."""
        self._closed = True
        task = self._task
        if task is None or task.done():
            return
        if not self._editing:
            task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task


def progress_text(stage: str, info: dict[str, Any]) -> str | None:
    """The status line shown while a scope runs."""
    if stage == "done":
        return None
    if stage == "baselines" and "i" in info:
        model = f": {info['model']}" if info.get("model") else ""
        return f"⏳ Baselines {info['i']}/{info.get('n', '?')}{model}…{leader_text(info.get('best'))}"
    if stage == "profiling" and "rows" in info and "columns" in info:
        return f"⏳ Profiling {info['rows']:,} rows × {info['columns']:,} columns…"
    names = {"queued": "Waiting for a free worker…", "loading": "Loading the CSV…", "profiling": "Profiling columns…",
             "checks": "Checking data quality…", "learning_curve": "Learning curve…", "estimate": "Estimating effort…",
             "plot": "Drawing the chart…"}
    return "⏳ " + names.get(stage, f"{stage.replace('_', ' ').capitalize()}…")
