"""Heartbeat threads: each worker node in ``wh:workers``, the beat process in ``wh:beat:process``.

Only nodes that consume the pipeline's queue (``celery``) count as workers for health and
alerts; nodes that consume the io queues (deliveries and exports: the Procfile's ``io``
line) beat in ``wh:workers:io``, so a dead pipeline worker is not hidden by a live io
worker, nor a dead io worker by a live pipeline one. A node that consumes both kinds (no
``-Q``: every queue) beats in both.

Started by Celery's ``worker_ready``/``beat_init`` signals; a worker removes its own entry on
``worker_shutdown``. The monitor and the health endpoint read them (``service.monitoring``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery.signals import beat_init, worker_ready, worker_shutdown

from wagehood.errors import TemporaryError
from wagehood.service import monitoring
from wagehood.storage import keys
from wagehood.storage.redis_store import translate_errors
from workers.runtime import store

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
PIPELINE_QUEUE = "celery"
IO_QUEUES = frozenset({"deliveries", "exports"})  # celeryconfig.task_routes
_stop = threading.Event()


def _beat_forever(key: str, field: str | None) -> None:
    while not _stop.is_set():
        try:
            monitoring.heartbeat(store(), key, field)
        except TemporaryError:
            logger.warning("heartbeat not written: redis unavailable")
        _stop.wait(HEARTBEAT_SECONDS)


def _start_heartbeat(key: str, field: str | None) -> None:
    threading.Thread(target=_beat_forever, args=(key, field), daemon=True).start()


def heartbeat_keys(consumed: set[str] | None) -> list[str]:
    """Return the heartbeat hashes of a node consuming ``consumed`` (None/empty: every queue)."""
    if not consumed:
        return [keys.WORKERS, keys.IO_WORKERS]
    found = [keys.WORKERS] if PIPELINE_QUEUE in consumed else []
    return found + ([keys.IO_WORKERS] if IO_QUEUES & consumed else [])


def _node_keys(sender: Any) -> list[str]:
    # The queues this node consumes (its -Q).
    app = getattr(sender, "app", None)
    consumed = app.amqp.queues.consume_from if app is not None else None
    return heartbeat_keys(set(consumed) if consumed else None)


def _worker_ready(sender: Any = None, **_: Any) -> None:
    for key in _node_keys(sender):
        _start_heartbeat(key, str(getattr(sender, "hostname", "worker")))


def _worker_shutdown(sender: Any = None, **_: Any) -> None:
    _stop.set()
    try:
        with translate_errors():
            name = str(getattr(sender, "hostname", "worker"))
            for key in _node_keys(sender):
                store().client.hdel(key, name)
    except TemporaryError:
        logger.debug("could not remove worker heartbeat: redis unavailable")


def _beat_init(**_: Any) -> None:
    _start_heartbeat(keys.BEAT_PROCESS, None)


def connect() -> None:
    """Connect the handlers to Celery's worker and beat lifecycle signals."""
    worker_ready.connect(_worker_ready, weak=False)
    worker_shutdown.connect(_worker_shutdown, weak=False)
    beat_init.connect(_beat_init, weak=False)
