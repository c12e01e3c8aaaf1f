"""The worker: hard time limit, crashes and memory caps become clear errors, the next job works,
no temporary files, one BLAS/OpenMP thread, errors keep their kind, progress cannot kill a job."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import InputError, LimitExceeded, NotFound, TargetNeeded, UserError
from bot.scoping.worker import ScopeRequest, ScopeRunner, WorkerCrashed
from bot.scoping.worker import run_job as default_entry
from tests import scope_hooks

CSV = ("x,k,target\n" + "".join(f"{i * 0.37 % 5:.2f},{i % 4},{'yes' if (i * 7) % 5 > 1 else 'no'}\n"
                                for i in range(120))).encode()


@pytest.fixture(scope="module")
def runner():
    settings = Settings()
    settings.scope.memory_limit_mb = 1024
    r = ScopeRunner(settings)
    r.warm()
    yield r
    r.close()


def _ok(runner) -> dict:
    res = runner.run(ScopeRequest(path=None, data=CSV, filename="ok.csv", target="target", budget=1), timeout=60)
    assert res.report["task"] == "binary"
    return res.report


def test_timeout_kills_the_job_and_the_next_one_works(runner):
    runner.entry = scope_hooks.sleep_entry
    started = time.monotonic()
    try:
        with pytest.raises(LimitExceeded, match="took longer than 2 s"):
            runner.run(ScopeRequest(path=None, data=CSV, filename="slow.csv"), timeout=2)
    finally:
        runner.entry = default_entry
    assert time.monotonic() - started < 10
    assert not runner._active  # the worker is gone
    _ok(runner)


def test_crash_is_a_clear_error_and_the_next_job_works(runner):
    runner.entry = scope_hooks.exit_entry
    try:
        with pytest.raises(WorkerCrashed, match="stopped unexpectedly") as err:
            runner.run(ScopeRequest(path=None, data=CSV, filename="crash.csv"), timeout=30)
    finally:
        runner.entry = default_entry
    assert isinstance(err.value, UserError) and err.value.code == "scope_failed"
    _ok(runner)


def test_memory_cap_is_a_clear_error_and_the_next_job_works(runner):
    runner.entry = scope_hooks.alloc_entry
    try:
        with pytest.raises(LimitExceeded, match="out of memory"):
            runner.run(ScopeRequest(path=None, data=CSV, filename="big.csv"), timeout=60)
    finally:
        runner.entry = default_entry
    _ok(runner)


def test_user_errors_keep_their_kind_and_message(runner):
    with pytest.raises(NotFound, match="'nope' not found"):
        runner.run(ScopeRequest(path=None, data=CSV, filename="a.csv", target="nope"), timeout=60)
    with pytest.raises(InputError, match="PNG"):
        runner.run(ScopeRequest(path=None, data=b"\x89PNG\r\n\x1a\n" + bytes(100), filename="a.csv"), timeout=60)
    with pytest.raises(InputError, match="unknown task"):
        runner.run(ScopeRequest(path=None, data=CSV, filename="a.csv", task="clustering"), timeout=60)
    with pytest.raises(InputError, match="currency"):
        runner.run(ScopeRequest(path=None, data=CSV, filename="a.csv", rate=500, currency="<@1>"), timeout=60)


def test_a_missing_target_is_its_own_kind(runner):
    """Fronts ask for the column on TargetNeeded (a kind), never by reading an error's text."""
    with pytest.raises(TargetNeeded, match="no target column given") as err:
        runner.run(ScopeRequest(path=None, data=CSV.replace(b"target", b"renewed"), filename="a.csv"), timeout=60)
    assert isinstance(err.value, InputError) and err.value.code == "target_needed"


def test_progress_exceptions_do_not_kill_the_job(runner):
    seen = []

    def progress(stage, info):
        seen.append(stage)
        raise RuntimeError("front-end bug")

    res = runner.run(ScopeRequest(path=None, data=CSV, filename="p.csv", target="target", budget=1),
                     progress=progress, timeout=60)
    assert res.report["rows"] == 120 and "baselines" in seen and seen[-1] == "done"


def test_one_blas_openmp_thread_in_the_worker(runner):
    runner.entry = scope_hooks.threads_entry
    try:
        res = runner.run(ScopeRequest(path=None, data=CSV, filename="t.csv"), timeout=60)
    finally:
        runner.entry = default_entry
    pools = res.report["threadpool"]
    assert pools and all(p["threads"] == 1 for p in pools)


def _files_containing(folder: str, marker: bytes) -> list[str]:
    hits = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            try:
                if os.path.getsize(path) < 50_000_000 and marker in Path(path).read_bytes():
                    hits.append(path)
            except OSError:
                continue
    return hits


def test_no_temporary_files_and_concurrent_jobs(runner):
    marker = b"unique_marker_7f3a9c"
    data = CSV.replace(b"x,k,target", b"x," + marker + b",target")
    tmp = tempfile.gettempdir()
    before = set(os.listdir(tmp))
    results: list[dict] = []

    def one() -> None:
        res = runner.run(ScopeRequest(path=None, data=data, filename="c.csv", target="target", budget=1), timeout=120)
        results.append(res.report)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 2
    new = set(os.listdir(tmp)) - before
    leaked = [p for name in new for p in _files_containing(os.path.join(tmp, name), marker)
              if os.path.isdir(os.path.join(tmp, name))]
    leaked += [os.path.join(tmp, n) for n in new if os.path.isfile(os.path.join(tmp, n))
               and marker in Path(tmp, n).read_bytes()]
    assert not leaked


def test_forkserver_does_not_hold_the_fronts_stdout(runner):
    """Jobs talk through their pipe only; the server's stdout/stderr are /dev/null, so a piped
    `mlbot scope --json | jq` ends when mlbot does, not when the server finishes tearing down."""
    from multiprocessing import forkserver

    pid = forkserver._forkserver._forkserver_pid
    assert pid is not None
    for fd in (1, 2):
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == os.devnull
    assert os.readlink(f"/proc/{os.getpid()}/fd/1") != os.devnull  # ours is untouched
