"""Real services for tests and benchmarks: redis-server, PostgreSQL, `chroma run` and `mlbot worker`.

Each starts on loopback on a free port in its own temp folder and is stopped by its own stop command
(`redis-cli shutdown`, `pg_ctl stop`, `mlbot worker --stop`; chroma has none, so SIGTERM). A service
that cannot start fails the test (never a skip): CI must install what they need (`.ci/run`).
PostgreSQL's initdb refuses root, so as root the cluster belongs to the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class ServiceError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen | None, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceError(f"{what} exited with code {proc.returncode} before it listened")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise ServiceError(f"{what} did not listen on port {port} within {seconds:.0f} s")


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if not found:
        raise ServiceError(f"{name} is not installed (CI installs it: .ci/run)")
    return found


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mlbot-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return self.db_url(0)

    def db_url(self, db: int) -> str:
        """Another logical database: its own queues and keys (workers on db 0 never see them)."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [_tool("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, self.proc, 20, "redis-server")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            subprocess.run([_tool("redis-cli"), "-p", str(self.port), "shutdown", "nosave"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20, check=False)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer:
    """A throwaway cluster (initdb --no-sync, fsync off, trust auth on loopback)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mlbot-pg-"))
        self.data = self.dir / "data"
        self.as_postgres = os.geteuid() == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *cmd: str, timeout: float = 120) -> None:
        argv = [*(["runuser", "-u", "postgres", "--"] if self.as_postgres else []), *cmd]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise ServiceError(f"{Path(cmd[0]).name} failed: {(done.stderr or done.stdout).strip()[-400:]}")

    def start(self) -> PostgresServer:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(_tool("initdb"), "-D", str(self.data), "--no-sync", "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run(_tool("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w",
                  "-t", "60", "start")
        _wait_port(self.port, None, 30, "postgres")
        return self

    def create_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(_tool("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


class ChromaServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mlbot-chroma-"))
        self.proc: subprocess.Popen | None = None

    def start(self) -> ChromaServer:
        exe = shutil.which("chroma") or str(BIN / "chroma")
        self.proc = subprocess.Popen([exe, "run", "--path", str(self.dir), "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, self.proc, 90, "chroma run")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # chroma's own way to stop (it has no stop command)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Worker:
    """A real `mlbot worker` process (its own data dir; settings through MLBOT_* variables)."""

    def __init__(self, env: dict[str, str], *, name: str | None = None, concurrency: int = 1) -> None:
        self.name = name or f"w{uuid.uuid4().hex[:6]}@loopback"
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.concurrency = concurrency
        self.log = Path(tempfile.mkstemp(prefix="mlbot-worker-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None

    def start(self, *, ready_seconds: float = 120) -> Worker:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([str(BIN / "mlbot"), "-v", "worker", "--name", self.name,
                                          "--concurrency", str(self.concurrency)], env=self.env, cwd=ROOT,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + ready_seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceError(f"mlbot worker exited with code {self.proc.returncode}: {self.tail()}")
            if b" ready." in self.log.read_bytes():
                return self
            time.sleep(0.1)
        raise ServiceError(f"mlbot worker was not ready within {ready_seconds:.0f} s: {self.tail()}")

    def tail(self, n: int = 1500) -> str:
        return self.log.read_bytes()[-n:].decode("utf-8", "replace")

    def kill_tree(self) -> None:
        """SIGKILL the worker and everything it started (as a machine or a cgroup kill would)."""
        import psutil

        try:
            parent = psutil.Process(self.proc.pid)
            for proc in [*parent.children(recursive=True), parent]:
                proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
        self.proc.wait(20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            subprocess.run([str(BIN / "mlbot"), "worker", "--stop", self.name], env=self.env, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(20)
        self.log.unlink(missing_ok=True)


def _started(service):
    try:
        return service.start()
    except (ServiceError, OSError, subprocess.SubprocessError) as exc:
        service.stop()
        pytest.fail(f"could not start a test service: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def redis_server():
    server = _started(RedisServer())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    server = _started(PostgresServer())
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    return postgres_server.create_database()


@pytest.fixture
def chroma_server():
    server = _started(ChromaServer())
    yield server.port
    server.stop()
