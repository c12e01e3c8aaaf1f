"""The bot's side of the celery engine: `run` has the local runner's signature and behaviour.

A job: take a place in the shared queue (or Busy at once when it is full), put the spec and the
upload in Redis with a short expiry, send Celery a message holding only the job id, then follow
the job's event stream: progress goes to the caller's callback in order, the result (stored in
the shared store by the worker, so its id comes back) or a typed error ends the call. A job no
worker starts within `scope.queue_wait_seconds` is withdrawn (Busy: try again in a minute). A
worker whose heartbeat stops mid-job is gone (killed, machine lost): the job runs once more on
another worker from the bytes the bot still holds; a second loss is a clear error.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.errors import Busy, Cancelled, ConfigError, LimitExceeded, UserError
from bot.scale.celery_app import QUEUE, TASK, make_app
from bot.scale.channel import JobChannel, connect, new_job_id

# The local runner's error kinds and progress relay, so both engines raise and report alike.
from bot.scoping.worker import _KINDS, Progress, ScopeRequest, ScopeResult, WorkerCrashed, _call

log = logging.getLogger("bot.scale.client")
_POLL_MS = 250
_GRACE = 10.0  # after a withdrawal that lost the race: how long a claiming worker has to say "started"


class _WorkerLost(Exception):
    pass


class CeleryScopeEngine:
    def __init__(self, settings: Any):
        self.settings = settings
        self._lock = threading.Lock()
        self._redis: Any = None
        self._app: Any = None

    def _clients(self) -> tuple[Any, Any]:
        with self._lock:
            if self._redis is None:
                try:
                    self._app = make_app(self.settings)
                    self._redis = connect(self.settings.scope.broker_url)
                except ModuleNotFoundError as exc:
                    raise ConfigError(f"scope.engine: celery needs the {exc.name} package.",
                                      hint='Install the scale extra: pip install -e ".[scale]".') from None
            return self._redis, self._app

    def warm(self) -> None:
        """Import and connect now (a long-running front calls this at start, off its event loop)."""
        redis, app = self._clients()
        self._ping(redis)
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)

    def close(self) -> None:
        with self._lock:
            if self._redis is not None:
                self._redis.close()
                self._redis = None

    # Jobs --------------------------------------------------------------------------------
    def run(self, request: ScopeRequest, *, progress: Progress | None = None, timeout: float | None = None,
            cancel: threading.Event | None = None, user_id: str | None = None) -> ScopeResult:
        cfg = self.settings.scope
        data = self._payload(request)
        limit = float(timeout or cfg.hard_timeout_seconds)
        spec = {"request": {k: v for k, v in asdict(request).items() if k not in ("path", "data")},
                "timeout": limit, "user_id": str(user_id or "local")}
        redis, app = self._clients()
        from redis.exceptions import RedisError

        for attempt in (1, 2):
            job_id = new_job_id()
            channel = JobChannel(redis, job_id)
            self._submit(channel, app, spec, data)
            log.info("scope job %s queued bytes=%d attempt=%d", job_id, len(data), attempt)
            try:
                return self._follow(channel, app, limit, progress, cancel)
            except UserError:
                channel.close()
                raise
            except RedisError as exc:  # Redis went away while we followed the job
                raise self._unreachable(exc) from None
            except _WorkerLost:
                log.warning("scope job %s: the worker went away mid-job (attempt %d)", job_id, attempt)
                _call(progress, "requeued", {"attempt": attempt + 1})
        raise WorkerCrashed("the scope worker went away twice while running this file.",
                            hint="Try again in a few minutes; if it happens again, upload a sample of the rows.")

    def _payload(self, request: ScopeRequest) -> bytes:
        cap = self.settings.scope.remote_max_file_mb * 1024 * 1024
        too_big = LimitExceeded(f"the file is over the {self.settings.scope.remote_max_file_mb:g} MB limit for "
                                "scopes on shared workers.", hint="Send a sample of the rows.")
        if request.data is not None:
            if len(request.data) > cap:
                raise too_big
            return request.data
        path = Path(request.path or "")
        if path.stat().st_size > cap:
            raise too_big
        return path.read_bytes()

    def _submit(self, channel: JobChannel, app: Any, spec: dict[str, Any], data: bytes) -> None:
        cfg = self.settings.scope
        try:
            admitted = channel.admit(limit=cfg.queue_limit, stale_after=cfg.queue_wait_seconds + _GRACE)
        except Exception as exc:
            raise self._unreachable(exc) from None
        if not admitted:
            raise Busy("the scope queue is full right now.", hint="Please try again in a minute.")
        try:
            channel.put(spec, data, ttl=cfg.upload_ttl_seconds)
            expires = max(cfg.upload_ttl_seconds, cfg.queue_wait_seconds) + 30
            app.send_task(TASK, args=[channel.job_id], queue=QUEUE, expires=expires)
        except Exception as exc:
            raise self._unreachable(exc) from None

    def _follow(self, channel: JobChannel, app: Any, limit: float, progress: Progress | None,
                cancel: threading.Event | None) -> ScopeResult:
        cfg = self.settings.scope
        last = "0-0"
        start_by = time.monotonic() + cfg.queue_wait_seconds
        finish_by: float | None = None
        withdrawn_lost = silent = False
        while True:
            if cancel is not None and cancel.is_set():
                self._cancel(channel, app)
            for entry_id, event in list(channel.events(last, _POLL_MS)):
                last, kind = entry_id, event["kind"]
                if kind == "started":
                    finish_by = time.monotonic() + limit + cfg.worker_lost_seconds + 30
                elif kind == "progress":
                    _call(progress, event["stage"], event["info"])
                elif kind == "result":
                    png = base64.b64decode(event["chart_png"]) if event.get("chart_png") else None
                    channel.close()
                    return ScopeResult(report=event["report"], chart_png=png, scope_id=event["scope_id"])
                elif kind == "error":
                    cls = _KINDS.get(event["error"], UserError)
                    exc = cls(event["message"], hint=event.get("hint"))
                    if event.get("code") and event["code"] != cls.code:
                        exc.code = event["code"]
                    raise exc
                elif kind == "bug":
                    raise RuntimeError(f"the scope worker failed ({event.get('error')})")
            now = time.monotonic()
            if finish_by is None and now > start_by:
                if channel.withdraw() or withdrawn_lost:
                    app.control.revoke(channel.job_id)
                    raise Busy(f"no scope worker was free within {cfg.queue_wait_seconds:g} s.",
                               hint="Please try again in a minute.")
                withdrawn_lost, start_by = True, now + _GRACE  # a worker claimed it just now
            elif finish_by is not None:
                if channel.alive():
                    silent = False
                elif silent:  # no heartbeat, and no final event on the read after we noticed
                    raise _WorkerLost()
                else:
                    silent = True  # the worker stops beating right after its last event: read once more
                if now > finish_by:
                    channel.request_cancel()
                    raise LimitExceeded(f"the scope took longer than {limit:.0f} s and was stopped.",
                                        hint="Try a sample of the rows, fewer columns, or a smaller --budget.")

    def _cancel(self, channel: JobChannel, app: Any) -> None:
        channel.request_cancel()
        if channel.withdraw():
            app.control.revoke(channel.job_id)
        raise Cancelled("the scope was cancelled.")

    def _ping(self, redis: Any) -> None:
        try:
            redis.ping()
        except Exception as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: Exception) -> UserError:
        from bot.store import shown_url

        log.warning("scope broker unreachable class=%s", exc.__class__.__name__)
        return Busy(f"the scope queue ({shown_url(self.settings.scope.broker_url)}) cannot be reached.",
                    hint="Please try again in a minute; if it lasts, tell the bot's operator.")

