"""Pipeline counters and latency samples kept in Redis for the monitor endpoints."""

from __future__ import annotations

import logging
import time

from wagehood.errors import TemporaryError
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors

logger = logging.getLogger(__name__)

LATENCY_SAMPLES = 2_000


def record_ticks(store: RedisStore, quotes: int, bars: int, tick: float) -> None:
    """Count quotes and bars applied, and sample tick-to-state latency in milliseconds."""
    latency_ms = (time.time() - tick) * 1000.0
    try:
        with translate_errors():
            pipe = store.client.pipeline(transaction=False)
            pipe.hincrby(keys.STATS, "quotes", quotes)
            pipe.hincrby(keys.STATS, "bars", bars)
            pipe.hincrby(keys.STATS, "tasks", 1)
            pipe.lpush(keys.LATENCY, f"{time.time():.3f}:{latency_ms:.2f}")
            pipe.ltrim(keys.LATENCY, 0, LATENCY_SAMPLES - 1)
            pipe.execute()
    except TemporaryError:
        logger.warning("could not record stats: redis unavailable")


def latency_percentiles(store: RedisStore) -> dict[str, float | None]:
    """Return p50/p90/p99 of the recent tick-to-state latencies (ms)."""
    with translate_errors():
        raw = store.client.lrange(keys.LATENCY, 0, -1)
    values = sorted(float(item.split(":")[1]) for item in raw)
    if not values:
        return {"p50": None, "p90": None, "p99": None, "samples": 0}

    def pick(q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "samples": float(len(values))}


def counters(store: RedisStore) -> dict[str, int]:
    """Return the pipeline's counters."""
    with translate_errors():
        raw = store.client.hgetall(keys.STATS)
    return {k: int(v) for k, v in raw.items()}
