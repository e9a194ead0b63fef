"""Per-application objects (settings, store, Celery client, hub, limiter) and their lookup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from celery import Celery
from flask import current_app
from kombu.exceptions import OperationalError

from api.hub import Hub
from wagehood.errors import TemporaryError
from wagehood.service import exports
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

EXPORT_TASK = "wagehood.run_export"
EXPORT_QUEUE = "exports"  # consumed by the io worker (celeryconfig.task_routes)


@dataclass
class ApiState:
    """What views need, built once by ``create_app``."""

    settings: Settings
    store: RedisStore
    celery: Celery
    hub: Hub
    limiter: Any = None


def state() -> ApiState:
    """Return the current application's state."""
    return cast(ApiState, current_app.extensions["wagehood"])


def celery_client(settings: Settings) -> Celery:
    """Return a Celery app used only to send tasks and ping workers (never to run tasks)."""
    client = Celery("wagehood-api", broker=settings.redis_url, set_as_current=False)
    client.conf.update(
        broker_connection_timeout=3,
        broker_connection_retry_on_startup=False,
        broker_transport_options={"socket_timeout": 5, "socket_connect_timeout": 3},
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
    )
    return client


def enqueue_export(export_id: str) -> None:
    """Send the export task to the workers; if the broker is down, fail the export (503)."""
    app_state = state()
    try:
        app_state.celery.send_task(EXPORT_TASK, args=[export_id], queue=EXPORT_QUEUE, retry=False)
    except OperationalError as error:
        exports.mark_failed(app_state.store, export_id, "task broker unavailable")
        raise TemporaryError("task broker unavailable", retry_after=5) from error
