"""Celery configuration, derived from ``Settings`` (lower-case Celery names, nothing else).

Reliability choices (see docs/architecture.md): late acks and reject-on-worker-lost give
at-least-once delivery; the pipeline's guarded commits turn that into exactly-once effects.
The Redis transport re-delivers a message a dead worker had taken after
``visibility_timeout``, so it is short (60 s by default) yet far longer than any task's
time limit would allow a healthy task to run.
"""

from __future__ import annotations

from wagehood.settings import Settings
from workers.schedule import beat_schedule as _beat_schedule

_settings = Settings.from_env()

broker_url = _settings.redis_url
broker_connection_retry_on_startup = True
broker_transport_options = {
    "visibility_timeout": _settings.broker_visibility_timeout,
    # kombu sweeps for abandoned messages every interval x throttle seconds (default 100 s);
    # sweep every few seconds so a dead worker's message returns soon after the timeout.
    "unacked_restore_interval": max(1, min(5, _settings.broker_visibility_timeout // 5)),
    "unacked_restore_throttle": 1,
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "health_check_interval": 10,
    "retry_on_timeout": True,
}
broker_pool_limit = 10
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
task_ignore_result = True
# Webhook deliveries and exports wait on the network and the disk: they have their own queues,
# consumed by the Procfile's ``io`` worker (a thread pool), so a slow receiver holds an I/O
# thread, never a pipeline process. Warm-ups and gap fills (long, many bars) have theirs too:
# a worker that consumes only "celery" is never busy with one (the Procfile's worker consumes
# "celery" and "warmup"; the dispatcher starts at most WARMUP_CONCURRENCY at a time).
task_routes = {
    "wagehood.deliver_event": {"queue": "deliveries"},
    "wagehood.run_export": {"queue": "exports"},
    "wagehood.warm_symbol": {"queue": "warmup"},
}
task_acks_late = True
task_reject_on_worker_lost = True
task_acks_on_failure_or_timeout = True
task_time_limit = max(5, _settings.broker_visibility_timeout - 5)
task_soft_time_limit = max(4, _settings.broker_visibility_timeout - 10)
worker_prefetch_multiplier = _settings.max_concurrent_calculations
worker_concurrency = _settings.calculation_workers
# Task events cost three extra broker publishes per task (measured: docs/benchmarks.md);
# Flower switches worker events on at run time (its --enable-events default), so they are
# only paid for while someone is watching.
worker_send_task_events = False
task_send_sent_event = False
worker_hijack_root_logger = False
worker_redirect_stdouts = False
timezone = "UTC"
enable_utc = True
beat_schedule = _beat_schedule(_settings)
beat_scheduler = "workers.beat:Scheduler"  # counts the ticks it could not dispatch
beat_max_loop_interval = 1
