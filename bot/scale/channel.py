"""What a scope job carries through Redis besides Celery's message (which holds only the job id).

Per job, under `mlbot:job:<id>:` with a short expiry:
  data    the upload's bytes (never on disk; taken with GETDEL, so exactly one worker claims them)
  spec    the request as JSON (file name, target, options, time limit, owner)
  events  a stream of JSON events in order: started, progress, result | error | bug
  alive   the running worker's heartbeat (a key that expires when the worker stops refreshing it)
  cancel  set by the bot to stop the job
and one sorted set `mlbot:scope:waiting` of jobs not yet started, to refuse work when the shared
queue is full. Nothing here logs a byte of the data or of the spec.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

WAITING = "mlbot:scope:waiting"
EVENTS_TTL = 900  # the bot deletes a job's events once it has the result; these are what a lost bot leaves
EVENTS_MAXLEN = 2000

# Refuse when the queue is full, else enqueue (atomic across every bot process).
_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
return 1
"""


_JOB_ID = re.compile(r"[0-9a-f]{32}")


def new_job_id() -> str:
    return uuid.uuid4().hex


def valid_job_id(value: object) -> bool:
    return isinstance(value, str) and bool(_JOB_ID.fullmatch(value))


def connect(url: str):
    """A Redis client (thread-safe, pooled) for the broker URL."""
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


class JobChannel:
    def __init__(self, client: Any, job_id: str):
        self.redis = client
        self.job_id = job_id
        base = f"mlbot:job:{job_id}:"
        self.k_data, self.k_spec, self.k_events = base + "data", base + "spec", base + "events"
        self.k_alive, self.k_cancel = base + "alive", base + "cancel"

    # Bot side ------------------------------------------------------------------------------
    def admit(self, *, limit: int, stale_after: float) -> bool:
        """Take a place among the waiting jobs; False when `limit` jobs already wait."""
        now = time.time()
        return bool(self.redis.eval(_ADMIT, 1, WAITING, now - stale_after, limit, now, self.job_id))

    def put(self, spec: dict[str, Any], data: bytes, *, ttl: float) -> None:
        ms = int(ttl * 1000)
        with self.redis.pipeline() as pipe:
            pipe.set(self.k_spec, json.dumps(spec), px=ms)
            pipe.set(self.k_data, data, px=ms)
            pipe.execute()

    def withdraw(self) -> bool:
        """Take the upload back before a worker claims it; True when we won (the job will not run)."""
        with self.redis.pipeline() as pipe:
            pipe.delete(self.k_data)
            pipe.delete(self.k_spec)
            pipe.zrem(WAITING, self.job_id)
            won = pipe.execute()[0]
        return bool(won)

    def request_cancel(self, ttl: float = 600) -> None:
        self.redis.set(self.k_cancel, b"1", px=int(ttl * 1000))

    def events(self, last_id: str, block_ms: int) -> Iterator[tuple[str, dict[str, Any]]]:
        reply = self.redis.xread({self.k_events: last_id}, block=block_ms, count=100)
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                yield _text(entry_id), json.loads(fields[b"e"])

    def alive(self) -> bool:
        return bool(self.redis.exists(self.k_alive))

    def close(self) -> None:
        """The bot has the outcome: nothing of this job stays in Redis."""
        self.redis.delete(self.k_events, self.k_data, self.k_spec)  # a cancel flag stays for the worker

    # Worker side ---------------------------------------------------------------------------
    def claim(self) -> tuple[dict[str, Any], bytes] | None:
        """The spec and the bytes, deleted from Redis as they are read; None when they expired or the
        bot withdrew them (or another worker already claimed this job)."""
        with self.redis.pipeline() as pipe:
            pipe.getdel(self.k_data)
            pipe.getdel(self.k_spec)
            pipe.zrem(WAITING, self.job_id)
            data, spec, _ = pipe.execute()
        if data is None or spec is None:
            return None
        return json.loads(spec), data

    def publish(self, kind: str, **payload: Any) -> None:
        with self.redis.pipeline() as pipe:
            pipe.xadd(self.k_events, {"e": json.dumps({"kind": kind, **payload}, default=_plain)}, maxlen=EVENTS_MAXLEN,
                      approximate=True)
            pipe.expire(self.k_events, EVENTS_TTL)
            pipe.execute()

    def beat(self, ttl: float) -> None:
        self.redis.set(self.k_alive, b"1", px=int(ttl * 1000))

    def stop_beating(self) -> None:
        self.redis.delete(self.k_alive)

    def cancelled(self) -> bool:
        return bool(self.redis.exists(self.k_cancel))


def _plain(value: Any) -> Any:
    """numpy scalars and the like as plain numbers (progress info comes from the job's libraries)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
