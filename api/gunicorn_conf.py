"""Gunicorn settings derived from ``Settings``: bind API_HOST:API_PORT, threaded workers.

Each open WebSocket holds one request thread (plus its sender thread), so ``threads`` bounds
the WebSocket clients one worker process serves; raise it (or add workers) for more.
"""

from __future__ import annotations

import os

from wagehood.settings import Settings

_settings = Settings.from_env()

bind = f"{_settings.api_host}:{_settings.api_port}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("WEB_THREADS", "64"))
timeout = 60
graceful_timeout = 10
keepalive = 5
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
loglevel = _settings.log_level.lower()
