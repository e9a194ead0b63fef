"""Delivery records (one per channel and event, the delivery log) and what an attempt decides.

A record moves ``pending -> sending -> retrying -> ... -> delivered | dead``; ``attempts``
counts every attempt started, including one cut short by a crash. ``settle`` turns what an
attempt learnt into the record's new state and the next step (stop, or retry after a delay).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wagehood.alerts import retry
from wagehood.alerts.payloads import title

DONE = ("delivered", "dead")


@dataclass(frozen=True)
class Result:
    """What one attempt learnt: ``kind`` is ``delivered``, ``retry`` or ``permanent``."""

    kind: str
    status_code: int | None = None
    error: str | None = None
    latency_ms: float | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class Attempt:
    """What to do next: ``delivered``/``dead``/``skipped`` (stop), ``retry`` or ``busy``
    (another attempt holds the lock) after ``delay`` seconds."""

    status: str
    delay: float = 0.0


def new_record(channel: str, event: Mapping[str, Any], now: float) -> dict[str, Any]:
    """Return the ``pending`` record of ``event`` for ``channel``."""
    return {
        "event_id": event["event_id"],
        "channel": channel,
        "summary": title(event),
        "status": "pending",
        "attempts": 0,
        "status_code": None,
        "error": None,
        "latency_ms": None,
        "created_at": now,
        "updated_at": now,
    }


def settle(
    record: Mapping[str, Any], result: Result, max_attempts: int, backoff: float
) -> tuple[dict[str, Any], Attempt]:
    """Return the record after an attempt with ``result``, and the next step."""
    kind = result.kind
    if kind == "retry" and int(record["attempts"]) >= max_attempts:
        kind = "permanent"
    status = {"retry": "retrying", "permanent": "dead"}.get(kind, kind)
    latency = round(result.latency_ms, 1) if result.latency_ms is not None else None
    updated = dict(record) | {
        "status": status,
        "status_code": result.status_code,
        "error": result.error,
        "latency_ms": latency,
    }
    if status == "retrying":
        delay = retry.next_delay(int(record["attempts"]), backoff, result.retry_after)
        return updated, Attempt("retry", delay)
    return updated, Attempt(status)
