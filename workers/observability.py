"""Celery signal handlers: logging set-up, per-task log context and timing, heartbeats, alerts.

- ``setup_logging``: configure ``wagehood.logs`` once (JSON lines with ``LOG_FORMAT=json``),
  instead of Celery's own set-up, in workers and beat alike.
- ``task_prerun``/``task_postrun``: bind ``task_id``, ``task`` and the symbols a task works on
  to every log record; log one line per task with its duration; count the task and its
  duration bucket in Redis (``wagehood.service.monitoring``), so metrics add up over any
  number of worker processes and hosts.
- ``task_failure``/``task_retry``: count errors and retries.
- ``worker_ready``/``beat_init``: start a heartbeat thread (``wh:workers``, ``wh:beat:process``).
- ``wagehood.evaluate_alerts``: the periodic task beat schedules to raise and clear alerts.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery.signals import (
    beat_init,
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    worker_ready,
    worker_shutdown,
)

from wagehood import logs
from wagehood.errors import TemporaryError
from wagehood.service import alerts, monitoring
from wagehood.storage import keys
from wagehood.storage.redis_store import translate_errors
from workers.app import app, settings, store

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
MAX_SYMBOLS_LOGGED = 10
_started: dict[str, float] = {}
_failed: set[str] = set()
_stop = threading.Event()


def _setup_logging(**_: Any) -> None:
    current = settings()
    logs.configure(
        current.log_level,
        current.log_format,
        secrets=(current.alpaca_api_secret, current.jwt_secret),
    )


def _symbols(args: Any) -> list[str]:
    # fetch_quotes(provider, [symbols], tick); compute_indicators({"quotes": [[sym, ...]]}).
    for arg in args or ():
        if isinstance(arg, list) and arg and all(isinstance(s, str) for s in arg):
            return list(arg)
        if isinstance(arg, dict) and isinstance(arg.get("quotes"), list):
            return [str(row[0]) for row in arg["quotes"] if isinstance(row, list) and row]
    return []


def _task_prerun(task_id: str, task: Any, args: Any = None, **_: Any) -> None:
    logs.clear()
    symbols = _symbols(args)
    context: dict[str, Any] = {"task_id": task_id, "task": task.name}
    if symbols:
        context["symbols"] = symbols[:MAX_SYMBOLS_LOGGED]
        context["symbol_count"] = len(symbols)
        if len(symbols) == 1:
            context["symbol"] = symbols[0]
    logs.bind(**context)
    _started[task_id] = time.perf_counter()


def _task_postrun(task_id: str, task: Any, state: str | None = None, **_: Any) -> None:
    started = _started.pop(task_id, None)
    failed = task_id in _failed
    _failed.discard(task_id)
    if started is not None:
        seconds = time.perf_counter() - started
        logger.info(
            "task %s %s in %.1f ms",
            task.name,
            (state or "done").lower(),
            seconds * 1000,
            extra={"duration_ms": round(seconds * 1000, 3), "state": state},
        )
        monitoring.record_task(store(), task.name, seconds, failed)
    logs.clear()


def _task_failure(task_id: str, **_: Any) -> None:
    _failed.add(task_id)


def _task_retry(request: Any = None, **_: Any) -> None:
    name = getattr(request, "task", None) or "unknown"
    monitoring.count(store(), f"retries:{name}")


def _beat_forever(key: str, field: str | None) -> None:
    while not _stop.is_set():
        try:
            monitoring.heartbeat(store(), key, field)
        except TemporaryError:
            logger.warning("heartbeat not written: redis unavailable")
        _stop.wait(HEARTBEAT_SECONDS)


def _start_heartbeat(key: str, field: str | None) -> None:
    threading.Thread(target=_beat_forever, args=(key, field), daemon=True).start()


def _worker_ready(sender: Any = None, **_: Any) -> None:
    _start_heartbeat(keys.WORKERS, str(getattr(sender, "hostname", "worker")))


def _worker_shutdown(sender: Any = None, **_: Any) -> None:
    _stop.set()
    try:
        with translate_errors():
            store().client.hdel(keys.WORKERS, str(getattr(sender, "hostname", "worker")))
    except TemporaryError:
        logger.debug("could not remove worker heartbeat: redis unavailable")


def _beat_init(**_: Any) -> None:
    _start_heartbeat(keys.BEAT_PROCESS, None)


@app.task(name="wagehood.evaluate_alerts", ignore_result=True)  # type: ignore[untyped-decorator]
def evaluate_alerts() -> int:
    """Raise and clear system alerts; return how many are active."""
    return len(alerts.evaluate(store(), settings()))


setup_logging.connect(_setup_logging, weak=False)
task_prerun.connect(_task_prerun, weak=False)
task_postrun.connect(_task_postrun, weak=False)
task_failure.connect(_task_failure, weak=False)
task_retry.connect(_task_retry, weak=False)
worker_ready.connect(_worker_ready, weak=False)
worker_shutdown.connect(_worker_shutdown, weak=False)
beat_init.connect(_beat_init, weak=False)
