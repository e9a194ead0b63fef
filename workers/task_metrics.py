"""Per-task log context, timing and counting, from Celery's task signals.

- ``task_prerun``/``task_postrun``: bind ``task_id`` and ``task`` to every log record of the
  task (tasks bind their own symbols, see ``symbol_context``); log one DEBUG line per task
  with its duration; count the task and its duration bucket in Redis
  (``wagehood.service.monitoring``), so metrics add up over any number of worker processes.
- ``task_failure``/``task_retry``: count errors and retries.
- ``task_revoked``: a dispatch tick that expired in the queue before a worker took it is a
  missed tick (``ticks_missed``; beat counts those it could not send, ``workers.beat``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.signals import task_failure, task_postrun, task_prerun, task_retry, task_revoked

from wagehood import logs
from wagehood.service import monitoring, stats
from workers.runtime import store
from workers.schedule import DISPATCH_TASK

logger = logging.getLogger(__name__)

MAX_SYMBOLS_LOGGED = 10
_started: dict[str, float] = {}
_failed: set[str] = set()


def symbol_context(symbols: list[str]) -> dict[str, Any]:
    """Return the log fields naming the symbols a task works on (at most ten listed)."""
    context: dict[str, Any] = {
        "symbols": symbols[:MAX_SYMBOLS_LOGGED],
        "symbol_count": len(symbols),
    }
    if len(symbols) == 1:
        context["symbol"] = symbols[0]
    return context


def _task_prerun(task_id: str, task: Any, **_: Any) -> None:
    logs.clear()
    logs.bind(task_id=task_id, task=task.name)
    _started[task_id] = time.perf_counter()


def _task_postrun(task_id: str, task: Any, state: str | None = None, **_: Any) -> None:
    started = _started.pop(task_id, None)
    failed = task_id in _failed
    _failed.discard(task_id)
    if started is not None:
        seconds = time.perf_counter() - started
        logger.debug(
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


def _task_revoked(sender: Any = None, expired: bool = False, **_: Any) -> None:
    if expired and getattr(sender, "name", None) == DISPATCH_TASK:
        monitoring.count(store(), stats.TICKS_MISSED)


def connect() -> None:
    """Connect the handlers to Celery's task signals."""
    task_prerun.connect(_task_prerun, weak=False)
    task_postrun.connect(_task_postrun, weak=False)
    task_failure.connect(_task_failure, weak=False)
    task_retry.connect(_task_retry, weak=False)
    task_revoked.connect(_task_revoked, weak=False)
