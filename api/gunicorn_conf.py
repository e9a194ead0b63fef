"""Gunicorn settings derived from ``Settings``: bind API_HOST:API_PORT, threaded workers.

Each open WebSocket holds one request thread (plus its sender thread), so ``threads`` bounds
the WebSocket clients one worker process serves; raise it (or add workers) for more.
``WEB_CONCURRENCY`` (worker processes) defaults to the number of CPUs, at most 4.

Logging goes through ``wagehood.logs`` (JSON lines with ``LOG_FORMAT=json``, secrets
redacted, the access log included). Server-layer limits: a request line over 4 KiB answers
414, more than 100 headers or one over 8 KiB answers 431 (both in the API's JSON error shape,
``api/gunicorn_worker.py``), and the app refuses bodies over 1 MiB (413). With ``WEB_CONCURRENCY`` > 1 the web metrics are kept in
``PROMETHEUS_MULTIPROC_DIR`` (default ``$WAGEHOOD_DATA_DIR/prometheus``) and summed on scrape.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from wagehood import logs
from wagehood.settings import Settings

_settings = Settings.from_env()

bind = f"{_settings.api_host}:{_settings.api_port}"
worker_class = "api.gunicorn_worker.JsonErrorWorker"  # gthread, with JSON 414/431 bodies
# One process per core (at most 4 by default): a process runs Python on one core at a time,
# so on 2 cores a second process doubles the REST capacity (bench/api.py). Each process
# runs its own WebSocket hub and relay reader of the updates stream (one more Redis
# connection and XREAD per process, and every frame is decoded once per process); a client
# is served by whichever process accepted it, and resumes by sequence number as before.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(len(os.sched_getaffinity(0)), 4))
# 1088: one process relays to 1,000 WebSocket clients with no frame lost (bench/fanout.py;
# with 64, clients beyond the 64th were accepted but never served) and keeps 64 threads for
# REST (``ws_capacity``; further WebSockets are refused). Threads start lazily.
threads = int(os.environ.get("WEB_THREADS", "1088"))
worker_connections = threads + 64
timeout = 60
graceful_timeout = 10
keepalive = 5
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
control_socket = str(Path(_settings.data_dir).resolve() / "gunicorn.ctl")
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
loglevel = _settings.log_level.lower()
logconfig_dict = logs.dict_config(
    _settings.log_level, _settings.log_format, loggers=("gunicorn.error", "gunicorn.access")
)
logs.add_secret(_settings.alpaca_api_secret, _settings.jwt_secret)


def _multiprocess_dir() -> None:
    # Several web processes: prometheus-client must keep its values in files they share.
    if workers <= 1:
        return
    path = Path(
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", str(Path(_settings.data_dir) / "prometheus")
        )
    )
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)


_multiprocess_dir()


def ws_capacity(threads: int) -> int:
    """Return how many WebSockets a process of ``threads`` threads takes (the rest is REST's).

    Each open WebSocket holds a request thread for as long as it is open; without a reserve,
    as many sockets as threads would leave REST requests queueing until they time out.
    """
    return max(1, threads - max(2, min(64, threads // 4)))


def post_worker_init(worker: Any) -> None:
    """Give the app its WebSocket capacity (its threads less the REST reserve)."""
    worker.wsgi.config["WS_MAX_CLIENTS"] = ws_capacity(worker.cfg.threads)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead web process's live gauges from the shared metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # noqa: PLC0415 - only in multiprocess mode

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
