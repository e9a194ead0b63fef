"""Pipeline counters and latency samples kept in Redis for the monitor endpoints."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from wagehood.errors import TemporaryError
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors

logger = logging.getLogger(__name__)

LATENCY_SAMPLES = 2_000
# Histogram bucket bounds (seconds) for task durations and tick-to-state latency: 5 ms-10 s.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf"))


TICKS_MISSED = "ticks_missed"  # the counter of ``wh:stats`` that ``missed_ticks`` adds to


def missed_ticks(previous: float, now: float, interval: float) -> int:
    """Return the ticks missed between two dispatches sent at ``previous`` and ``now``.

    A gap shorter than two intervals misses none (a late tick is not a missed one); a gap of
    ``n`` whole intervals misses ``n - 1``.
    """
    return max(0, math.floor((now - previous) / interval) - 1)


def bucket_label(bound: float) -> str:
    """Return Prometheus's ``le`` label for a bucket bound."""
    return "+Inf" if bound == float("inf") else repr(bound)


def bucket_of(seconds: float) -> str:
    """Return the ``le`` label of the smallest bucket that holds ``seconds``."""
    return bucket_label(next(b for b in BUCKETS if seconds <= b))


def cumulative(counts: dict[str, int]) -> dict[str, int]:
    """Return per-bucket counts (``le`` label -> n) as Prometheus's cumulative counts."""
    running, result = 0, {}
    for bound in BUCKETS:
        running += counts.get(bucket_label(bound), 0)
        result[bucket_label(bound)] = running
    return result


def record_ticks(store: RedisStore, quotes: int, bars: int, tick: float) -> None:
    """Count quotes and bars applied; sample tick-to-state latency and count it in a bucket."""
    latency_ms = (time.time() - tick) * 1000.0
    try:
        with translate_errors():
            pipe = store.client.pipeline(transaction=False)
            pipe.hincrby(keys.STATS, "quotes", quotes)
            pipe.hincrby(keys.STATS, "bars", bars)
            pipe.hincrby(keys.STATS, "tasks", 1)
            pipe.lpush(keys.LATENCY, f"{time.time():.3f}:{latency_ms:.2f}")
            pipe.ltrim(keys.LATENCY, 0, LATENCY_SAMPLES - 1)
            pipe.hincrby(keys.LATENCY_SECONDS, bucket_of(latency_ms / 1000.0), 1)
            pipe.hincrbyfloat(keys.LATENCY_SECONDS, "sum", latency_ms / 1000.0)
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


def latency_histogram(store: RedisStore) -> dict[str, Any]:
    """Return the tick-to-state latency histogram: cumulative buckets, sum (s) and count."""
    with translate_errors():
        raw = store.client.hgetall(keys.LATENCY_SECONDS)
    buckets = cumulative({k: int(v) for k, v in raw.items() if k != "sum"})
    return {"buckets": buckets, "sum": float(raw.get("sum", 0.0)), "count": buckets["+Inf"]}


def counters(store: RedisStore) -> dict[str, int]:
    """Return the pipeline's counters."""
    with translate_errors():
        raw = store.client.hgetall(keys.STATS)
    return {k: int(v) for k, v in raw.items()}
