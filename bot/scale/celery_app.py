"""The Celery application shared by the bot (which sends) and `mlbot worker` (which runs).

Settings, and why:
- JSON only (`accept_content`, serializers): nothing a client sends is ever unpickled. The message
  carries the job id alone; the spec and the upload wait in Redis (bot.scale.channel).
- Threads pool: each slot only waits while the project's own isolated runner does the work in a
  forked process with its hard timeout, RSS watchdog, address-space cap and one BLAS thread (Celery's
  prefork pool refuses that child, and its time limits and memory caps do nothing on threads).
- `worker_prefetch_multiplier = 1` with late acks: a worker holds only the job it is running, so a
  killed worker strands no queued job; the message is acknowledged after the job.
- `visibility_timeout` beyond the longest job: Redis never hands a running job to a second worker.
  A message redelivered after a crash finds its upload claimed and does nothing (the bot reruns
  the job itself when it sees the worker's heartbeat stop).
- No result backend: results, errors and progress travel on the job's event stream.
"""

from __future__ import annotations

from typing import Any

QUEUE = "mlbot.scope"
TASK = "mlbot.scope.run"


def make_app(settings: Any):
    from celery import Celery

    cfg = settings.scope
    app = Celery("mlbot", broker=cfg.broker_url, set_as_current=False)
    longest = cfg.hard_timeout_seconds + cfg.queue_wait_seconds + cfg.upload_ttl_seconds
    app.conf.update(
        accept_content=["json"], task_serializer="json", result_serializer="json", event_serializer="json",
        result_accept_content=["json"], result_backend=None, task_ignore_result=True,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": int(longest + 300)},
        broker_connection_retry_on_startup=True, broker_connection_timeout=5,
        task_default_queue=QUEUE, task_create_missing_queues=True,
        worker_hijack_root_logger=False, worker_redirect_stdouts=False,
        worker_send_task_events=False, task_send_sent_event=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_disable_rate_limits=True,
    )
    return app
