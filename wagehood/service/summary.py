"""The once-a-minute summary line a quiet log shows instead of a line per task."""

from __future__ import annotations

import time
from typing import Any

from wagehood.service import monitoring, stats, watchlist
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors

WINDOW_SECONDS = 60.0
MAX_SIGNALS_COUNTED = 100_000


def last_minute(store: RedisStore, window: float = WINDOW_SECONDS) -> dict[str, Any]:
    """Return the figures of the last ``window`` seconds: symbols, ticks/s, bars, signals, p99."""
    counters = monitoring.current_counters(store)
    monitoring.sample(store, counters)
    rates = monitoring.rates(store, counters, window)
    since_ms = int((time.time() - window) * 1000)
    with translate_errors():
        signals = store.client.xrange(
            keys.SIGNALS, min=f"{since_ms}-0", max="+", count=MAX_SIGNALS_COUNTED
        )
    bars_per_s = rates["bars_per_s"]
    return {
        "symbols": len(watchlist.entries(store)),
        "ticks_per_s": rates["quotes_per_s"],
        "bars": None if bars_per_s is None else round(bars_per_s * window),
        "signals": len(signals),
        "p99_ms": stats.latency_percentiles(store)["p99"],
        "errors": rates["errors"],
    }


def describe(figures: dict[str, Any]) -> str:
    """Return the summary as one readable line (``-`` where a rate has no samples yet)."""

    def show(value: object, unit: str = "") -> str:
        return "-" if value is None else f"{value}{unit}"

    return (
        f"last minute: {figures['symbols']} symbols, {show(figures['ticks_per_s'])} ticks/s, "
        f"{show(figures['bars'])} bars, {figures['signals']} signals, "
        f"p99 tick-to-state {show(figures['p99_ms'], ' ms')}, {show(figures['errors'])} errors"
    )
