"""The scope job as it runs inside a worker process (imported by the forkserver to preload the
heavy libraries, so a job forks warm in milliseconds).

`job_main` pins BLAS/OpenMP to one thread, watches its resident memory (a thread stops the job
past `memory_limit_mb`), caps the address space (RLIMIT_AS) once the file is parsed, reads the
upload from the pipe (never from disk), runs the report and sends back messages:
  ("progress", stage, info) | ("result", report, png) | ("error", kind, message, hint, code) |
  ("bug", class_name, frames)
Nothing from the data is logged or printed; a bug sends its class and stack frames, no message.
"""

from __future__ import annotations

import os
import resource
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

# Preloaded in the forkserver (imports only): pandas, pyarrow, scikit-learn (matplotlib: _plot_env).
import numpy as np  # noqa: F401
import pandas as pd  # noqa: F401
import pyarrow as pa

from bot.config import Scope
from bot.errors import UserError
from bot.scoping import report as _report

MB = 1024 * 1024


Build = Callable[[Any, Any, Callable[[str, dict[str, Any]], None], Callable[[], None]], tuple[dict, bytes | None]]


def job_main(conn: Any, job: dict[str, Any], build: Build = _report.build_report) -> None:
    """Run one job in this (fresh) worker process. `build(request, settings, emit, on_loaded=...)` makes
    the report and its chart: `build_report` everywhere but in tests of the worker's limits."""
    lock = threading.Lock()
    limit_mb = job["memory_limit_mb"]

    def send(msg: tuple) -> None:
        with lock:
            conn.send(msg)

    try:
        pa.set_memory_pool(pa.system_memory_pool())  # plain malloc: freed memory goes back to the system
        _Watchdog(limit_mb, send).start()
        _one_thread()
        warnings.simplefilter("ignore")
        request = SimpleNamespace(**job["request"], data=conn.recv_bytes() if job["has_data"] else None)
        settings = SimpleNamespace(scope=Scope(**job["scope"]),
                                   estimate_defaults=SimpleNamespace(hours_per_day=job["hours_per_day"]))

        def emit(stage: str, info: dict[str, Any]) -> None:
            send(("progress", stage, info))

        started = time.monotonic()

        def loaded() -> None:
            request.data = None  # parsed: the upload's bytes can go
            _trim_heap()
            limit_address_space(limit_mb)

        report, png = build(request, settings, emit, on_loaded=loaded)
        report["resources"] = {"peak_rss_mb": round(_peak_rss_mb(), 1),
                               "worker_seconds": round(time.monotonic() - started, 2)}
        send(("result", report, png))
    except UserError as exc:
        _send(send, ("error", type(exc).__name__, exc.message, exc.hint, exc.code))
    except MemoryError:
        _send(send, ("error", "LimitExceeded", _oom_message(limit_mb), OOM_HINT, "limit"))
    except BaseException as exc:  # a bug: class and frames only (messages may quote data)
        frames = [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_tb(exc.__traceback__)]
        _send(send, ("bug", exc.__class__.__name__, frames[-12:]))
    finally:
        try:
            conn.close()
        except OSError:
            pass


OOM_HINT = "Upload a sample of the rows or fewer columns."


def _oom_message(limit_mb: int) -> str:
    return f"the scope ran out of memory (limit {limit_mb:,} MB) on this file."


def _send(send: Any, msg: tuple) -> None:
    try:
        send(msg)
    except (OSError, ValueError):
        pass


def limit_address_space(limit_mb: int) -> None:
    """RLIMIT_AS for the modelling stages (after parsing: pyarrow's CSV reader reserves address
    space per column far beyond what it touches, so parsing is guarded by the RSS watchdog)."""
    limit = int(limit_mb) * MB
    limit = max(limit, _statm(0) + 1024 * MB)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _trim_heap() -> None:
    """Give freed parser memory back to the system (glibc keeps it otherwise)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _statm(field: int) -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[field]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class _Watchdog(threading.Thread):
    """Stops the job when its resident memory passes the limit (checked every 50 ms)."""

    def __init__(self, limit_mb: int, send: Any):
        super().__init__(name="scope-memory-watchdog", daemon=True)
        self.limit = int(limit_mb) * MB
        self.send = send

    def run(self) -> None:
        while True:
            time.sleep(0.05)
            if _statm(1) > self.limit:
                _send(self.send, ("error", "LimitExceeded", _oom_message(self.limit // MB), OOM_HINT, "limit"))
                os._exit(9)


def _one_thread() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (ru_maxrss is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
