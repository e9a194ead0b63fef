"""When to retry a delivery, and after how long: exponential backoff with jitter, Retry-After.

A 2xx answer delivers the event. 408, 425, 429, any 5xx and transport errors (no answer,
timeout) are retried; other answers (3xx: redirects are not followed; 4xx: the receiver
refuses the request) will not change on a retry and go straight to the dead letters.
"""

from __future__ import annotations

import random

from wagehood.timeparse import parse_retry_after

MAX_DELAY = 600.0
RETRYABLE = frozenset({408, 425, 429})


def outcome(status: int | None) -> str:
    """Return ``delivered``, ``retry`` or ``permanent`` for an HTTP status (None: no answer)."""
    if status is None or status in RETRYABLE or status >= 500:
        return "retry"
    if 200 <= status < 300:
        return "delivered"
    return "permanent"


def backoff(attempt: int, base: float, rng: random.Random | None = None) -> float:
    """Return the delay before attempt ``attempt + 1``: ``base * 2**(attempt-1)``, jittered.

    The jitter draws from the upper half of the interval ("equal jitter"), so retries of
    many events spread out while each still waits at least half its backoff.
    """
    ceiling = min(MAX_DELAY, base * 2 ** max(attempt - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


def retry_after(header: str | None, now: float) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta or HTTP date), capped."""
    seconds = parse_retry_after(header, now)
    return None if seconds is None else min(seconds, MAX_DELAY)


def next_delay(attempt: int, base: float, wait: float | None) -> float:
    """Return the delay before the next attempt: the backoff, or longer if the receiver asked."""
    return max(backoff(attempt, base), wait or 0.0)
