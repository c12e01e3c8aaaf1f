"""Scope engines, local and celery, with real parts: redis-server and real `mlbot worker` processes.

The same Core.scope call on both engines: results and progress in order, the hard timeout, the memory
cap, a job process that dies, cancelling. Celery only: a full queue is "busy" at once, an upload that
expired in the queue is a clear error, a worker killed mid-job loses nothing (the job runs again on
another worker; with none left, a clear error), a bot that dies mid-scope still finds the report
stored by the worker, and the Discord front works unchanged on the celery engine.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from bot.errors import Busy, Cancelled, LimitExceeded
from bot.scale.channel import WAITING, connect
from bot.scoping.worker import WorkerCrashed
from tests.conftest import make_core
from tests.services import Worker

MEMORY_MB = 300  # the workers' memory cap: a small scope fits, the big CSV below does not
STAGES = ["loading", "profiling", "checks", "baselines", "learning_curve", "estimate", "plot", "done"]


def _csv(rows: int, cols: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    lines = [",".join(f"f{j}" for j in range(cols)) + ",target"]
    for _ in range(rows):
        values = [rng.random() for _ in range(cols)]
        lines.append(",".join(f"{v:.5f}" for v in values) + f",{int(values[0] + rng.random() > 1)}")
    return ("\n".join(lines) + "\n").encode()


SMALL = _csv(150, 3)
SLOW = _csv(6000, 25, seed=1)  # with a long budget: runs for many seconds, in little memory


@pytest.fixture(scope="module")
def big_csv() -> bytes:
    return _csv(150_000, 40, seed=2)  # about 50 MB: well past MEMORY_MB once parsed


def _worker_env(redis_url: str, state_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {"MLBOT_SCOPE__BROKER_URL": redis_url, "MLBOT_STORE__URL": state_url, "MLBOT_DATA_DIR": str(data_dir),
            "MLBOT_SCOPE__MEMORY_LIMIT_MB": str(MEMORY_MB), "HF_HUB_OFFLINE": "1", **extra}


@pytest.fixture(scope="module")
def cluster(redis_server, tmp_path_factory):
    """One shared state database and one worker for the module's celery tests."""
    root = tmp_path_factory.mktemp("cluster")
    state = str(root / "state.sqlite3")
    worker = Worker(_worker_env(redis_server.url, state, root / "w1"))
    try:
        try:
            worker.start()
        except Exception as exc:
            pytest.fail(f"could not start mlbot worker: {exc}", pytrace=False)
        yield {"redis": redis_server.url, "state": state, "root": root, "worker": worker}
    finally:
        worker.stop()


def _celery_core(cluster, tmp_path, **overrides):
    return make_core(tmp_path / "bot", **{"scope.engine": "celery", "scope.broker_url": cluster["redis"],
                                          "store.url": cluster["state"], **overrides})


@pytest.fixture(params=["local", "celery"])
def engine(request, tmp_path):
    """(core, pid whose descendants run the jobs)"""
    if request.param == "local":
        core = make_core(tmp_path / "d", **{"scope.memory_limit_mb": MEMORY_MB})
        yield core, os.getpid()
    else:
        cluster = request.getfixturevalue("cluster")
        core = _celery_core(cluster, tmp_path)
        yield core, cluster["worker"].proc.pid
    core.close()


def _scope(core, data=SMALL, user="alice", **kwargs):
    return core.scope(data=data, filename="data.csv", target="target", user_id=user, **kwargs)


def _job_processes(root_pid: int) -> list[psutil.Process]:
    """The scope job processes under root_pid (children of a multiprocessing forkserver)."""
    out = []
    for proc in psutil.Process(root_pid).children(recursive=True):
        try:
            if "forkserver" in " ".join(proc.parent().cmdline()):
                out.append(proc)
        except psutil.NoSuchProcess:
            continue
    return out


def _in_thread(fn, *args, **kwargs) -> dict:
    box: dict = {}

    def run():
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    box["thread"] = threading.Thread(target=run, daemon=True)
    box["thread"].start()
    return box


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# Both engines ----------------------------------------------------------------------------------------


def test_a_scope_reports_progress_in_order_and_is_stored(engine):
    core, _ = engine
    events: list[tuple[str, dict]] = []
    result = _scope(core, budget=2, progress=lambda stage, info: events.append((stage, info)))
    assert result["report"]["task"] == "binary" and result["chart_png"].startswith(b"\x89PNG")
    stages = [s for s, _ in events]
    assert stages[0] == "loading" and stages[-1] == "done"
    order = [STAGES.index(s) for s in stages if s in STAGES]
    assert order == sorted(order)  # every stage after the one before it
    counters = [info["i"] for s, info in events if s == "baselines" and "i" in info]
    assert counters == sorted(counters) and counters
    assert core.latest_scope("alice")[0] == result["scope_id"] == result["report"]["id"]  # /quote finds it


def test_the_hard_timeout_stops_the_job_and_the_next_one_works(engine):
    core, root = engine
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="longer than 2 s"):
        _scope(core, SLOW, budget=60, timeout=2)
    assert time.monotonic() - started < 30
    _wait_for(lambda: not _job_processes(root), 10, "the job process to go")
    assert _scope(core, budget=1)["report"]["rows"] == 150


def test_the_memory_cap_stops_the_job_and_the_next_one_works(engine, big_csv):
    core, _ = engine
    with pytest.raises((LimitExceeded, WorkerCrashed), match="memory"):
        _scope(core, big_csv, budget=5)
    assert _scope(core, budget=1)["report"]["rows"] == 150


def test_a_job_process_that_dies_is_a_clear_error_and_the_next_job_works(engine):
    core, root = engine
    _wait_for(lambda: not _job_processes(root), 10, "earlier jobs to go")
    stages: list[str] = []
    box = _in_thread(_scope, core, SLOW, budget=60, progress=lambda s, i: stages.append(s))
    _wait_for(lambda: "baselines" in stages, 60, "the job to run")
    for proc in _job_processes(root):
        proc.kill()  # the kernel's OOM killer, or a segfault in a library
    box["thread"].join(60)
    assert isinstance(box.get("error"), WorkerCrashed) and "killed" in box["error"].message
    assert _scope(core, budget=1)["report"]["rows"] == 150


def test_a_scope_can_be_cancelled(engine):
    core, root = engine
    cancel = threading.Event()
    stages: list[str] = []
    box = _in_thread(_scope, core, SLOW, budget=60, cancel=cancel, progress=lambda s, i: stages.append(s))
    _wait_for(lambda: "baselines" in stages, 60, "the baselines to start")
    cancel.set()
    box["thread"].join(30)
    assert isinstance(box.get("error"), Cancelled)
    _wait_for(lambda: not _job_processes(root), 10, "the job process to go")
    assert _scope(core, budget=1)["report"]["rows"] == 150


# Celery only -------------------------------------------------------------------------------------------


def test_a_full_queue_answers_busy_at_once(cluster, tmp_path):
    connect(cluster["redis"]).delete(WAITING)
    core = _celery_core(cluster, tmp_path, **{"scope.queue_limit": 1})
    cancel = threading.Event()
    stages: list[str] = []
    running = _in_thread(_scope, core, SLOW, budget=60, cancel=cancel, user="u1",
                         progress=lambda s, i: stages.append(s))
    _wait_for(lambda: "baselines" in stages, 60, "the first job to run")
    waiting = _in_thread(_scope, core, SMALL, budget=1, cancel=cancel, user="u2")  # waits for the one worker
    _wait_for(lambda: connect(cluster["redis"]).zcard(WAITING) == 1, 20, "the second job to wait")
    started = time.monotonic()
    with pytest.raises(Busy, match="queue is full") as err:
        _scope(core, SMALL, user="u3")
    assert "try again in a minute" in str(err.value) and time.monotonic() - started < 5
    cancel.set()
    for box in (running, waiting):
        box["thread"].join(60)
        assert isinstance(box.get("error"), Cancelled)


def test_an_upload_that_expired_in_the_queue_is_a_clear_error(cluster, tmp_path):
    busy = _celery_core(cluster, tmp_path / "a")
    cancel = threading.Event()
    stages: list[str] = []
    running = _in_thread(_scope, busy, SLOW, budget=60, cancel=cancel, user="u1",
                         progress=lambda s, i: stages.append(s))
    _wait_for(lambda: "baselines" in stages, 60, "the first job to run")
    core = _celery_core(cluster, tmp_path / "b", **{"scope.upload_ttl_seconds": 1})
    late = _in_thread(_scope, core, SMALL, budget=1, user="u2")
    time.sleep(2.5)  # its upload expires while the only worker is busy
    cancel.set()
    late["thread"].join(60)
    running["thread"].join(60)
    assert isinstance(late.get("error"), Busy) and "upload expired" in late["error"].message
    assert _scope(core, budget=1)["report"]["rows"] == 150


def test_a_worker_killed_mid_job_loses_nothing(redis_server, tmp_path):
    broker = redis_server.db_url(1)  # two workers of its own (the module's worker serves database 0)
    state = str(tmp_path / "state.sqlite3")
    workers = [Worker(_worker_env(broker, state, tmp_path / f"w{i}")) for i in range(2)]
    try:
        for w in workers:
            w.start()
        core = make_core(tmp_path / "bot", **{"scope.engine": "celery", "scope.broker_url": broker,
                                              "store.url": state, "scope.worker_lost_seconds": 3,
                                              "scope.queue_wait_seconds": 5})
        stages: list[str] = []
        victim = _in_thread(_scope, core, _csv(2000, 10, seed=3), budget=4, user="alice",
                            progress=lambda s, i: stages.append(s))
        _wait_for(lambda: "baselines" in stages, 60, "alice's job to run")
        running = next(w for w in workers if _job_processes(w.proc.pid))  # alice's is the only job yet
        other = _in_thread(_scope, core, SMALL, budget=1, user="bob")  # someone else's scope meanwhile
        running.kill_tree()  # the machine under it is gone
        victim["thread"].join(120)
        other["thread"].join(120)
        assert "requeued" in stages and victim.get("result"), victim.get("error")
        assert other.get("result") and other["result"]["report"]["rows"] == 150
        assert core.latest_scope("alice")[0] == victim["result"]["scope_id"]

        survivor = next(w for w in workers if w is not running)
        stages.clear()
        lonely = _in_thread(_scope, core, _csv(2000, 10, seed=3), budget=4, user="alice",
                            progress=lambda s, i: stages.append(s))
        _wait_for(lambda: "baselines" in stages, 60, "the job on the last worker")
        survivor.kill_tree()
        lonely["thread"].join(120)
        assert isinstance(lonely.get("error"), Busy) and "no scope worker was free" in lonely["error"].message
    finally:
        for w in workers:
            w.stop()


def test_a_bot_that_dies_mid_scope_still_finds_the_report(cluster, tmp_path):
    """The worker stores the report itself: a late result is there for /quote (or a DM)."""
    csv = tmp_path / "data.csv"
    csv.write_bytes(_csv(2000, 10, seed=4))
    env = {**os.environ, "MLBOT_DATA_DIR": str(tmp_path / "cli"), "MLBOT_SCOPE__ENGINE": "celery",
           "MLBOT_SCOPE__BROKER_URL": cluster["redis"], "MLBOT_STORE__URL": cluster["state"]}
    _wait_for(lambda: not _job_processes(cluster["worker"].proc.pid), 10, "earlier jobs to go")
    cli = subprocess.Popen([str(Path(sys.executable).parent / "mlbot"), "scope", str(csv), "--target", "target",
                            "--budget", "4", "--json"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _job_processes(cluster["worker"].proc.pid), 60, "the job to run")
        cli.kill()  # the bot process is gone; the worker carries on
        cli.wait(10)
        core = _celery_core(cluster, tmp_path)
        _wait_for(lambda: core.latest_scope("local") is not None, 90, "the worker to store the report")
        quote = core.quote(scope=None, rate=500, unit="day", currency="GBP", user_id="local")
        assert quote["total_high"] > 0 and quote["scope"]["target"] == "target"
    finally:
        if cli.poll() is None:
            cli.kill()


def test_an_unreachable_queue_is_a_clear_error(tmp_path):
    from tests.services import free_port

    core = make_core(tmp_path / "bot", **{"scope.engine": "celery",
                                          "scope.broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    with pytest.raises(Busy, match="cannot be reached"):
        _scope(core)
