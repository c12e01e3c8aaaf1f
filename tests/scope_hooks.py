"""Worker entries for tests of the scope worker's limits (ScopeRunner(entry=...)): each runs the real
job_main (pipes, watchdog, thread limits, error handling) with a `build` that misbehaves on purpose."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from bot.scoping.job import MB, job_main


def _threads(request: Any, settings: Any, emit: Any, on_loaded: Any) -> tuple[dict, None]:
    from threadpoolctl import threadpool_info

    return {"threadpool": [{"api": i.get("internal_api"), "threads": i.get("num_threads")}
                           for i in threadpool_info()]}, None


def _exit(request: Any, settings: Any, emit: Any, on_loaded: Any) -> tuple[dict, None]:
    sys.stdout.flush()
    os._exit(3)


def _sleep(request: Any, settings: Any, emit: Any, on_loaded: Any) -> tuple[dict, None]:
    time.sleep(3600)
    return {}, None


def _alloc(request: Any, settings: Any, emit: Any, on_loaded: Any) -> tuple[dict, None]:
    on_loaded()  # as after parsing: the address-space cap is set
    blocks = []
    while True:  # grows until RLIMIT_AS refuses: MemoryError
        blocks.append(bytearray(256 * MB))


def threads_entry(conn: Any, job: dict[str, Any]) -> None:
    job_main(conn, job, build=_threads)


def exit_entry(conn: Any, job: dict[str, Any]) -> None:
    job_main(conn, job, build=_exit)


def sleep_entry(conn: Any, job: dict[str, Any]) -> None:
    job_main(conn, job, build=_sleep)


def alloc_entry(conn: Any, job: dict[str, Any]) -> None:
    job_main(conn, job, build=_alloc)
