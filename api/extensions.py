"""Per-application objects (settings, store, Celery client, hub, limiter) and their lookup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from celery import Celery
from flask import current_app
from kombu.exceptions import LimitExceeded, OperationalError

import celeryconfig
from api.hub import Hub
from api.key_cache import KeyCache
from wagehood.errors import TemporaryError
from wagehood.service import exports
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

EXPORT_TASK = "wagehood.run_export"
POOL_TIMEOUT = 3.0  # seconds a request waits for a pooled broker connection


@dataclass
class ApiState:
    """What views need, built once by ``create_app``."""

    settings: Settings
    store: RedisStore
    celery: Celery
    hub: Hub
    limiter: Any = None
    key_cache: KeyCache = field(default_factory=KeyCache)


def state() -> ApiState:
    """Return the current application's state."""
    return cast(ApiState, current_app.extensions["wagehood"])


def celery_client(settings: Settings) -> Celery:
    """Return a Celery app used only to send tasks and ping workers (never to run tasks).

    It routes tasks as the workers' configuration does: exports and webhook deliveries go
    to the io worker's queues, never to the pipeline worker's.
    """
    client = Celery("wagehood-api", broker=settings.redis_url, set_as_current=False)
    client.conf.update(
        task_routes=celeryconfig.task_routes,
        broker_connection_timeout=3,
        broker_connection_retry_on_startup=False,
        broker_transport_options={"socket_timeout": 5, "socket_connect_timeout": 3},
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
    )
    return client


def send_task(name: str, args: list[Any]) -> None:
    """Send task ``name`` through a pooled producer, waiting at most ``POOL_TIMEOUT`` for one.

    A broker that cannot be reached raises kombu's ``OperationalError`` (503 in api/errors).
    """
    client = state().celery
    try:
        with client.producer_pool.acquire(block=True, timeout=POOL_TIMEOUT) as producer:
            client.send_task(name, args=args, retry=False, producer=producer)
    except LimitExceeded as error:
        raise TemporaryError("task broker busy: no connection free", retry_after=1) from error


def enqueue_export(export_id: str) -> None:
    """Send the export task to the workers; if the broker is down, fail the export (503)."""
    app_state = state()
    try:
        send_task(EXPORT_TASK, [export_id])
    except OperationalError as error:
        exports.mark_failed(app_state.store, export_id, "task broker unavailable")
        raise TemporaryError("task broker unavailable", retry_after=5) from error
