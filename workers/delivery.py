"""Celery side of signal delivery: drain the outbox after evaluations, deliver with retries.

- After every successful ``wagehood.evaluate_strategies`` (whose guarded commit wrote the
  outbox entries), the same worker process drains the outbox and enqueues one
  ``wagehood.deliver_event`` per channel and event. A crash before the drain leaves the
  evaluation message unacknowledged (late acks); its redelivery succeeds as a no-op and
  drains then. ``wagehood.drain_outbox`` does the same on demand; a compute step that
  evaluated a live close itself and wrote outbox entries sends it (beat's periodic drain is
  the safety net should that message be lost).
- ``wagehood.deliver_event`` makes one attempt; a retryable failure re-enqueues it with the
  service's exponential backoff and jitter (or the receiver's ``Retry-After``) as countdown,
  until the attempts run out and the delivery is dead-lettered.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery.signals import task_success

from wagehood.errors import TemporaryError
from wagehood.service import delivery
from workers.app import app, settings, store

logger = logging.getLogger(__name__)

EVALUATE_TASK = "wagehood.evaluate_strategies"


@app.task(  # type: ignore[untyped-decorator]
    name="wagehood.deliver_event",
    bind=True,
    max_retries=None,
    autoretry_for=(TemporaryError,),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
)
def deliver_event(self: Task, channel: str, event_id: str) -> str:
    """Deliver ``event_id`` to ``channel`` once; retry later when the attempt asks for it."""
    attempt = delivery.deliver(store(), settings(), channel, event_id)
    if attempt.status in ("retry", "busy"):
        raise self.retry(countdown=attempt.delay)
    return attempt.status


@app.task(name="wagehood.drain_outbox", autoretry_for=(TemporaryError,), max_retries=8)  # type: ignore[untyped-decorator]
def drain_outbox() -> int:
    """Enqueue the deliveries of every event waiting in the outbox; return how many."""
    return delivery.drain_outbox(store(), enqueue)


def enqueue(channel: str, event_id: str) -> None:
    """Send one delivery task."""
    deliver_event.delay(channel, event_id)


def _after_evaluation(sender: Any = None, **_: Any) -> None:
    if getattr(sender, "name", None) != EVALUATE_TASK:
        return
    try:
        delivery.drain_outbox(store(), enqueue)
    except TemporaryError as error:  # the entries stay in the outbox for the next drain
        logger.warning("outbox not drained: %s", error)


task_success.connect(_after_evaluation, weak=False)
