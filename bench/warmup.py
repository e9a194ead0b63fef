"""Warm-up: time to warm N added symbols, and the live symbols' tick->state p99 meanwhile.

A throwaway deployment (our redis-server, the Procfile's worker and beat, mock provider)
watches ``LIVE`` symbols; once they are warm, the p99 of their tick->state latency is measured
for a window without warm-ups, then N symbols are added at once and the time until all of them
are warm is measured, with the live p99 over the same period.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench.cluster import cluster
from wagehood.service import stats, sync, watchlist
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore

LIVE = 20
WINDOW = 15.0


def _all_warm(store: RedisStore, symbols: list[str]) -> bool:
    return all(s.warm for s in sync.statuses(store, symbols).values())


def _wait_warm(store: RedisStore, symbols: list[str], timeout: float) -> float:
    started = time.monotonic()
    while not _all_warm(store, symbols):
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{len(symbols)} symbols not warm after {timeout:.0f}s")
        time.sleep(0.2)
    return time.monotonic() - started


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _p99(store: RedisStore) -> float | None:
    return stats.latency_percentiles(store)["p99"]


def run(quick: bool) -> dict[str, Any]:
    """Add 1, 10 (and 100) symbols to a live deployment; time their warm-up."""
    sizes = (1, 10) if quick else (1, 10, 100)
    load = _load()  # the machine may be shared: say how busy it was
    live = [f"LIVE{i}" for i in range(LIVE)]
    rows = []
    with cluster({"WATCHLIST_SYMBOLS": ",".join(live), "WARMUP_BARS": "500"}) as c:
        store = RedisStore.from_url(c.url)
        c.start("worker")
        c.start("beat")
        c.wait_workers(1)
        _wait_warm(store, live, 60 + 10 * LIVE)
        store.client.delete(keys.LATENCY)
        time.sleep(WINDOW)
        baseline = _p99(store)
        for n in sizes:
            added = [f"ADD{n}-{i}" for i in range(n)]
            store.client.delete(keys.LATENCY)
            watchlist.add(store, [(s, "mock") for s in added])
            seconds = _wait_warm(store, added, 60 + 10 * n)
            during = _p99(store)
            ratio = during / baseline if during and baseline else None
            rows.append([n, seconds, seconds / n, baseline, during, ratio])
    return {
        "title": "Warm-up: time to warm N added symbols; live tick->state p99 meanwhile",
        "settings": {
            "live symbols": LIVE,
            "WARMUP_BARS": 500,
            "timeframes": "1m, 5m, 1h",
            "worker": "the Procfile's (2 processes, queues celery + warmup)",
            "WARMUP_CONCURRENCY": 1,
            "load average at start": load,
        },
        "columns": [
            "added",
            "seconds to warm all",
            "s/symbol",
            "live p99 ms before",
            "live p99 ms during",
            "x",
        ],
        "rows": rows,
        "notes": [
            "Each warm-up loads 500 bars of each timeframe from the mock provider and applies them "
            "through the engine and strategies (about 3 s of one core per symbol; strategy "
            "evaluation of the historical bars is most of it).",
            "1,000 symbols extrapolate linearly from the s/symbol figure: on this 2-core machine "
            "about that many seconds x 1,000 / WARMUP_CONCURRENCY; a dedicated `-Q warmup` worker on "
            "other cores keeps the live p99 apart.",
        ],
    }
