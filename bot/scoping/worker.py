"""Process isolation for scope jobs: one fresh process per job, a hard time limit, a memory cap.

`ScopeRunner.run` is blocking and thread-safe. Each job forks from a multiprocessing forkserver
that has pandas, pyarrow, scikit-learn and matplotlib preloaded (`bot.scoping.job`), so a job
starts in milliseconds and no state leaks between jobs. The upload's bytes go to the worker
through a pipe: they are never written to disk (so no temporary file can be left behind) and
never logged. Progress messages are relayed to `progress(stage, info)` in the calling thread.
On timeout the worker is killed (SIGKILL); a crash or a memory cap becomes a UserError kind with a
message saying what to do, and the next job starts clean.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bot import errors
from bot.errors import Cancelled, LimitExceeded, UserError

log = logging.getLogger(__name__)
PRELOAD = ["bot.scoping._worker_env", "bot.scoping.job"]
PRELOAD_PLOT = "bot.scoping._plot_env"  # long-running fronts only: a one-shot run imports it after the scores
Progress = Callable[[str, dict[str, Any]], None]


@dataclass
class ScopeRequest:
    path: str | None
    data: bytes | None
    filename: str
    target: str | None = None
    task: str = "auto"
    budget: float | None = None
    rate: float | None = None
    unit: str = "day"
    currency: str = "GBP"
    estimate: dict | None = None
    cv: str = "auto"            # auto | kfold | time | group: override the validation the data suggests
    chart: bool = True          # draw the PNG chart (a CLI run without --plot skips it)
    frame: str = "auto"         # auto | tabular | forecasting | text | recommender: override the detected frame


@dataclass
class ScopeResult:
    report: dict
    chart_png: bytes | None
    scope_id: str | None = None  # set when the engine stored the report itself (the celery worker)


class WorkerCrashed(UserError):
    """The worker process died without an answer (killed by the system, or a crash in a library)."""

    code = "scope_failed"


_KINDS: dict[str, type[UserError]] = {
    cls.__name__: cls for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, UserError)
}
_KINDS["WorkerCrashed"] = WorkerCrashed


Entry = Callable[[Any, dict[str, Any]], None]


class ScopeRunner:
    def __init__(self, settings: Any, *, one_shot: bool = False, entry: Entry | None = None):
        """`one_shot`: this process runs one job and exits (the CLI), so the forkserver preloads only
        what the first scores need; long-running fronts preload the chart libraries too. `entry` is
        what the worker process runs, `(conn, job)`: a module-level function (the worker imports it),
        `bot.scoping.job.job_main` unless given."""
        self.settings = settings
        self.preload = _preload(one_shot)
        self.entry: Entry = entry or run_job
        self._ctx: Any = None
        self._lock = threading.Lock()
        self._active: set[Any] = set()

    # Lifecycle ---------------------------------------------------------------------------
    def _context(self):
        with self._lock:
            if self._ctx is None:
                self._ctx = _forkserver(self.preload)
            return self._ctx

    def warm(self, *, wait: bool = False) -> None:
        """Start the forkserver now (it imports the heavy libraries once). `wait`: return only when
        it has (a scope worker says "ready" only then)."""
        ctx = self._context()
        _ensure_forkserver()
        if wait:
            proc = ctx.Process(target=_noop, name="scope-prime", daemon=True)
            proc.start()
            proc.join(timeout=300)

    def close(self) -> None:
        with self._lock:
            procs = list(self._active)
        for proc in procs:
            _kill(proc)

    # Jobs --------------------------------------------------------------------------------
    def run(self, request: ScopeRequest, *, progress: Progress | None = None, timeout: float | None = None,
            cancel: threading.Event | None = None, user_id: str | None = None) -> ScopeResult:
        """`cancel`: set it to stop the job (Cancelled is raised). `user_id` is for engines that store
        the report themselves (the celery engine); this one leaves storing to the caller."""
        ctx = self._context()
        _ensure_forkserver()
        limit = float(timeout or self.settings.scope.hard_timeout_seconds)
        job_id = uuid.uuid4().hex[:8]
        fields = {k: v for k, v in asdict(request).items() if k != "data"}
        job = {
            "request": fields,
            "has_data": request.data is not None,
            "scope": self.settings.scope.model_dump(),
            "hours_per_day": self.settings.estimate_defaults.hours_per_day,
            "memory_limit_mb": self.settings.scope.memory_limit_mb,
        }
        size = len(request.data) if request.data is not None else None
        log.info("scope job %s start bytes=%s timeout=%.0fs", job_id, size, limit)
        started = time.monotonic()
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=self.entry, args=(child, job), name=f"scope-{job_id}", daemon=True)
        try:
            proc.start()
            with self._lock:
                self._active.add(proc)
            child.close()
            if request.data is not None:
                try:
                    parent.send_bytes(request.data)
                except (BrokenPipeError, OSError):
                    pass  # the worker died first: reported below
            result = self._wait(parent, proc, started + limit, limit, progress, cancel)
        except UserError as exc:
            log.info("scope job %s failed kind=%s seconds=%.2f", job_id, type(exc).__name__, time.monotonic() - started)
            raise
        finally:
            _kill(proc)
            with self._lock:
                self._active.discard(proc)
            parent.close()
            try:
                proc.close()
            except ValueError:
                pass
        seconds = time.monotonic() - started
        log.info("scope job %s done seconds=%.2f rows=%s cols=%s", job_id, seconds, result.report.get("rows"),
                 result.report.get("columns"))
        _call(progress, "done", {"seconds": round(seconds, 2)})
        return result

    def _wait(self, conn: Any, proc: Any, deadline: float, limit: float, progress: Progress | None,
              cancel: threading.Event | None = None) -> ScopeResult:
        while True:
            if cancel is not None and cancel.is_set():
                _kill(proc)
                raise Cancelled("the scope was cancelled.")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _kill(proc)
                raise LimitExceeded(
                    f"the scope took longer than {limit:.0f} s and was stopped (too slow for this file).",
                    hint="Try a sample of the rows, fewer columns, or a smaller --budget.")
            try:
                ready = conn.poll(min(remaining, 0.25))
            except (EOFError, OSError):
                ready = False
            if ready:
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    return self._crashed(proc)
                kind = msg[0]
                if kind == "progress":
                    _call(progress, msg[1], msg[2])
                elif kind == "result":
                    return ScopeResult(report=msg[1], chart_png=msg[2])
                elif kind == "error":
                    cls = _KINDS.get(msg[1], UserError)
                    exc = cls(msg[2], hint=msg[3])
                    if msg[4] and msg[4] != cls.code:
                        exc.code = msg[4]
                    raise exc
                elif kind == "bug":
                    log.error("scope worker bug %s at %s", msg[1], " <- ".join(reversed(msg[2])))
                    raise RuntimeError(f"the scope worker failed ({msg[1]})")
            elif not proc.is_alive():
                if conn.poll(0):
                    continue
                return self._crashed(proc)

    def _crashed(self, proc: Any) -> ScopeResult:
        proc.join(timeout=5)
        code = proc.exitcode
        if code is not None and code < 0 and -code == 9:
            raise WorkerCrashed("the scope worker was killed (most likely it ran out of memory on this file).",
                                hint="Upload a sample of the rows or fewer columns, then try again.")
        raise WorkerCrashed(f"the scope worker stopped unexpectedly (exit code {code}).",
                            hint="Try again; if it happens again with this file, upload a sample or fewer columns.")


def prestart() -> None:
    """Start a one-shot forkserver's imports now, before settings and the rest of the front load
    (the CLI calls this first thing for `mlbot scope`, so the two overlap on the two cores)."""
    _forkserver(_preload(one_shot=True))
    _ensure_forkserver()


def _preload(one_shot: bool) -> list[str]:
    return PRELOAD if one_shot else [*PRELOAD, PRELOAD_PLOT]


_start_lock = threading.Lock()


def _ensure_forkserver() -> None:
    """Start the forkserver (if it is not running) with stdout and stderr on /dev/null.

    Jobs talk through their pipe only, so nothing of theirs belongs on the front's terminal (a
    library's stray print, a traceback from a crash). And the server must not hold the front's
    stdout: a one-shot `mlbot scope --json | jq` would otherwise wait for the server's own
    teardown (pandas, scikit-learn: most of a second) after the answer was written.
    """
    from multiprocessing import forkserver

    with _start_lock:
        if getattr(forkserver._forkserver, "_forkserver_pid", None) is not None:
            forkserver.ensure_running()  # checks that it is alive, restarts it if not
            return
        try:
            with _output_to_devnull():
                forkserver.ensure_running()
        except OSError:  # no /dev/null or no free descriptor: start it with our streams
            forkserver.ensure_running()


@contextlib.contextmanager
def _output_to_devnull():
    """File descriptors 1 and 2 point at /dev/null inside the block (children inherit that)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    saved: list[int] = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            saved.append(os.dup(fd))
            os.dup2(devnull, fd)
        yield
    finally:
        for fd, copy in zip((1, 2), saved, strict=False):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def _forkserver(preload: list[str]) -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(preload)
    return ctx


def run_job(conn: Any, job: dict[str, Any]) -> None:
    """Runs in the worker; bot.scoping.job is already imported there (forkserver preload)."""
    from bot.scoping.job import job_main

    job_main(conn, job)


def _noop() -> None:
    pass


def _kill(proc: Any) -> None:
    try:
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=5)
    except (ValueError, AssertionError, OSError):
        pass


def _call(progress: Progress | None, stage: str, info: dict[str, Any]) -> None:
    if progress is None:
        return
    try:
        progress(stage, info)
    except Exception:  # a front's progress callback must never kill the job
        log.debug("progress callback raised", exc_info=True)
