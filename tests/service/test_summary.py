"""The once-a-minute summary: figures from the counters, the latency list and the stream."""

from __future__ import annotations

import time

from wagehood.service import monitoring, stats, summary, watchlist
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore


def test_last_minute_counts_symbols_signals_and_rates(settings: Settings) -> None:
    store = RedisStore.from_url(settings.redis_url)
    watchlist.seed(store, settings)
    monitoring.sample(store, monitoring.current_counters(store), now=time.time() - 30)
    stats.record_ticks(store, quotes=60, bars=30, tick=time.time() - 0.05)
    old = int((time.time() - 120) * 1000)
    store.client.xadd(keys.SIGNALS, {"symbol": "OLD"}, id=f"{old}-0")
    store.client.xadd(keys.SIGNALS, {"symbol": "SPY"})

    figures = summary.last_minute(store)

    assert figures["symbols"] == len(watchlist.entries(store)) > 0
    assert figures["signals"] == 1
    assert 1.5 < figures["ticks_per_s"] <= 2.0
    assert 55 < figures["bars"] <= 60
    assert 40 < figures["p99_ms"] < 5_000
    assert summary.describe(figures).startswith(f"last minute: {figures['symbols']} symbols, ")


def test_describe_shows_a_dash_before_there_are_samples() -> None:
    figures = {"symbols": 0, "ticks_per_s": None, "bars": None, "signals": 0, "p99_ms": None,
               "errors": None}  # fmt: skip
    assert summary.describe(figures) == (
        "last minute: 0 symbols, - ticks/s, - bars, 0 signals, p99 tick-to-state -, - errors"
    )
