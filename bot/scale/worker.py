"""`mlbot worker`: a Celery worker that runs scope jobs through the project's isolated runner.

Per job: claim the upload and the spec from Redis (deleted as they are read), beat a heartbeat,
run the job in a fresh forked process (bot.scoping.worker.ScopeRunner: hard timeout, RSS watchdog,
address-space cap, one BLAS thread, a crash as a typed error), relay its progress in order, store
the report in the shared store (so a result nobody waits for any more can still be fetched with
/quote) and publish the result or the error on the job's event stream. Logs hold the job id, sizes
and timings only.
"""

from __future__ import annotations

import base64
import logging
import socket
import threading
import time
from dataclasses import fields
from typing import Any

from bot.errors import Busy, UserError
from bot.scale.celery_app import QUEUE, TASK, make_app
from bot.scale.channel import JobChannel, connect, valid_job_id
from bot.scoping.worker import ScopeRequest, ScopeRunner

log = logging.getLogger("bot.scale.worker")

_REQUEST_FIELDS = {f.name for f in fields(ScopeRequest)} - {"path", "data"}


class JobRunner:
    """Everything a worker process shares between its job slots: settings, Redis, the runner, the store."""

    def __init__(self, settings: Any, store: Any):
        self.settings = settings
        self.store = store
        self.redis = connect(settings.scope.broker_url)
        self.runner = ScopeRunner(settings)
        self.name = f"mlbot@{socket.gethostname()}"

    def run(self, job_id: str) -> None:
        if not valid_job_id(job_id):
            log.warning("scope task with a malformed job id ignored")
            return
        channel = JobChannel(self.redis, job_id)
        claimed = channel.claim()
        if claimed is None:  # expired, withdrawn by the bot, or a redelivery of a job already claimed
            log.info("scope job %s: nothing to claim (expired or withdrawn)", job_id)
            _publish_error(channel, Busy("the upload expired before a scope worker was free.",
                                         hint="Please send the file again in a minute."))
            return
        spec, data = claimed
        cfg = self.settings.scope
        lost = cfg.worker_lost_seconds
        channel.beat(lost)
        channel.publish("started", worker=self.name)
        stop = threading.Event()
        cancel = threading.Event()
        watcher = threading.Thread(target=_watch, args=(channel, stop, cancel, lost), daemon=True,
                                   name=f"scope-watch-{job_id[:8]}")
        watcher.start()
        started = time.monotonic()
        log.info("scope job %s claimed bytes=%d", job_id, len(data))
        try:
            request = ScopeRequest(path=None, data=data, **{k: v for k, v in spec["request"].items()
                                                            if k in _REQUEST_FIELDS})
            del data
            timeout = min(float(spec.get("timeout") or cfg.hard_timeout_seconds), cfg.hard_timeout_seconds)
            result = self.runner.run(request, timeout=timeout, cancel=cancel,
                                     progress=lambda stage, info: channel.publish("progress", stage=stage, info=info))
            del request
            scope_id = self.store.save_scope(str(spec["user_id"]), result.report, keep_days=cfg.keep_reports_days)
            chart = base64.b64encode(result.chart_png).decode() if result.chart_png else None
            channel.publish("result", report=result.report, chart_png=chart, scope_id=scope_id)
            log.info("scope job %s stored id=%s seconds=%.2f", job_id, scope_id, time.monotonic() - started)
        except UserError as exc:
            _publish_error(channel, exc)
        except Exception as exc:  # a bug: its class only (a message may quote data); the traceback to the log
            log.error("scope job %s failed class=%s", job_id, exc.__class__.__name__, exc_info=True)
            channel.publish("bug", error=exc.__class__.__name__)
        finally:
            stop.set()
            watcher.join(timeout=5)
            channel.stop_beating()

    def close(self) -> None:
        self.runner.close()


def _watch(channel: JobChannel, stop: threading.Event, cancel: threading.Event, lost: float) -> None:
    """Beat the heartbeat (several times per `lost` seconds) and pass a cancel request to the runner."""
    beat_every = max(0.5, lost / 5)
    next_beat = time.monotonic() + beat_every
    while not stop.wait(0.25):
        try:
            if time.monotonic() >= next_beat:
                channel.beat(lost)
                next_beat = time.monotonic() + beat_every
            if not cancel.is_set() and channel.cancelled():
                cancel.set()
        except Exception:  # Redis away for a moment: keep the job; the next beat tries again
            log.warning("scope worker lost Redis for a moment", exc_info=True)


def _publish_error(channel: JobChannel, exc: UserError) -> None:
    channel.publish("error", error=type(exc).__name__, message=exc.message, hint=exc.hint, code=exc.code)


def serve(core: Any, *, concurrency: int = 1, name: str | None = None, loglevel: str = "INFO") -> None:
    """Run the worker until it is stopped (SIGTERM or `mlbot worker --stop NAME`: warm shutdown, the
    running jobs finish first). Reports go to the core's store (the shared one: `store.url`)."""
    from celery.utils.nodenames import default_nodename, host_format

    settings, store = core.settings, core.store
    app = make_app(settings)
    jobs = JobRunner(settings, store)
    node = jobs.name = host_format(default_nodename(name or jobs.name))  # %h: this host's name
    if store.is_sqlite:
        log.warning("store.url is a SQLite file on this machine: bot processes elsewhere will not see the reports "
                    "this worker stores (set store.url to the shared PostgreSQL database)")
    app.task(name=TASK, acks_late=True, ignore_result=True)(jobs.run)
    jobs.runner.warm(wait=True)  # the forkserver imports pandas and scikit-learn once, before "ready"
    try:
        app.worker_main(["worker", "--pool=threads", f"--concurrency={concurrency}", "-Q", QUEUE, "-n", node,
                         f"--loglevel={loglevel}", "--without-gossip", "--without-mingle", "--without-heartbeat"])
    finally:
        jobs.close()


def stop(settings: Any, name: str, *, timeout: float = 5.0) -> list[str]:
    """Ask the named worker (or every worker with "all") to shut down; returns who answered."""
    from celery.utils.nodenames import default_nodename

    app = make_app(settings)
    destination = None if name == "all" else [default_nodename(name)]
    replies = app.control.shutdown(destination=destination, reply=True, timeout=timeout) or []
    return [next(iter(r)) for r in replies]
