"""Per-provider circuit breakers whose state all workers share through Redis (pybreaker)."""

from __future__ import annotations

import logging

import pybreaker
import redis

from wagehood.errors import BudgetExceededError
from wagehood.storage import keys

logger = logging.getLogger(__name__)

FAIL_MAX = 5
RESET_TIMEOUT = 30


def provider_breaker(client: redis.Redis, provider: str) -> pybreaker.CircuitBreaker:
    """Return the circuit breaker of ``provider``, backed by ``client`` (bytes responses).

    It opens after ``FAIL_MAX`` consecutive temporary failures and lets one trial call through
    after ``RESET_TIMEOUT`` seconds. Our own request budget running out is not the
    provider failing: it does not count.
    """
    storage = pybreaker.CircuitRedisStorage(
        pybreaker.STATE_CLOSED, client, namespace=f"{keys.BREAKER_PREFIX}:{provider}"
    )
    return pybreaker.CircuitBreaker(
        fail_max=FAIL_MAX,
        reset_timeout=RESET_TIMEOUT,
        state_storage=storage,
        exclude=[BudgetExceededError],
        name=provider,
    )


def history_circuit(provider: str) -> str:
    """Return the name of ``provider``'s history circuit (warm-ups and gap fills).

    History has a circuit of its own: a broken history endpoint must not take the half-open
    trial calls of the quotes circuit and hold a healthy quotes endpoint cut off.
    """
    return f"{provider}:history"


def breaker_state(client: redis.Redis, provider: str) -> str:
    """Return ``closed``, ``open`` or ``half-open`` for ``provider`` (``closed`` if unknown)."""
    raw = client.get(f"{keys.BREAKER_PREFIX}:{provider}:pybreaker:state")
    if raw is None:
        return "closed"
    return raw.decode() if isinstance(raw, bytes) else str(raw)
