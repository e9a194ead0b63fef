"""The framework's floor: a Celery app with the pipeline's shape and empty task bodies.

Same broker settings as ``celeryconfig`` (late acks, no results, same prefetch and pool), a
``dispatch`` task fanning out one ``fetch -> compute -> evaluate`` chain per batch, and
nothing else: the last task only records that the chain finished and its tick-to-done
latency (one pipelined Redis round trip), so the bench can count and time it.

Run as ``celery -A bench.bare worker`` with ``REDIS_URL`` set, exactly like the real worker.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from celery import Celery, chain

from wagehood.service import watchlist
from wagehood.settings import Settings

_settings = Settings.from_env()
app = Celery("bench-bare")
app.config_from_object("celeryconfig")
app.conf.beat_schedule = {}
app.conf.worker_send_task_events = False
app.conf.task_send_sent_event = False

DONE = "bench:bare:done"
LATENCY = "bench:bare:latency"
_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client  # noqa: PLW0603 - one client per pool process
    if _client is None:
        _client = redis.Redis.from_url(_settings.redis_url)
    return _client


@app.task(name="bench.bare.dispatch")
def dispatch(symbols: int, batch: int) -> int:
    """Start one empty chain per batch of ``symbols``, cut as ``wagehood.dispatch_ticks`` cuts."""
    tick = time.time()
    entries = [watchlist.WatchEntry(f"S{i:05d}", "mock", 0.0) for i in range(symbols)]
    spread = 1 if batch == 1 else _settings.calculation_workers
    batches = [part for _, part in watchlist.batches(entries, batch, {}, spread=spread)]
    for part in batches:
        chain(fetch.s(part, tick), compute.s(), evaluate.s()).apply_async()
    return len(batches)


@app.task(name="bench.bare.fetch")
def fetch(symbols: list[str], tick: float) -> dict[str, Any]:
    """Pass the batch on."""
    return {"symbols": symbols, "tick": tick}


@app.task(name="bench.bare.compute")
def compute(fetched: dict[str, Any]) -> dict[str, Any]:
    """Pass the batch on."""
    return fetched


@app.task(name="bench.bare.evaluate")
def evaluate(fetched: dict[str, Any]) -> int:
    """Count the chain's symbols and record its tick-to-done latency."""
    pipe = _redis().pipeline(transaction=False)
    pipe.incrby(DONE, len(fetched["symbols"]))
    pipe.lpush(LATENCY, f"{(time.time() - fetched['tick']) * 1000:.2f}")
    pipe.ltrim(LATENCY, 0, 4999)
    pipe.execute()
    return len(fetched["symbols"])
