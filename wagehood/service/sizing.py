"""Redis memory budget: the projected full-history footprint of a watchlist against maxmemory.

The figures are measured, not guessed (docs/benchmarks.md, footprint table, and
docs/operations.md "Sizing Redis"): one symbol with full history (three timeframes x 10,000
bars in the compact encoding, its strategies evaluated on every bar) takes about
``BYTES_PER_BAR`` per stored bar (its stream entry, about 56 B, and its share of the engine
checkpoints the values are recomputed from, about 6 B), ``BYTES_PER_SIGNAL`` per signal kept
(``REDIS_SIGNALS_MAXLEN``) and ``BYTES_PER_SYMBOL`` of live, engine and strategy hashes.
``SHARED_BYTES`` covers the global updates and signals streams. Update them when the storage
encoding changes.
"""

from __future__ import annotations

from wagehood.service import watchlist
from wagehood.service.config import load_config
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore, translate_errors

BYTES_PER_BAR = 65
BYTES_PER_SIGNAL = 450
BYTES_PER_SYMBOL = 52_000
SHARED_BYTES = 64 * 2**20
MIB = 2**20


def projected_bytes(symbols: int, timeframes: int, maxlen: int, signals: int) -> int:
    """Return the Redis bytes ``symbols`` take once every history stream holds ``maxlen``
    bars and every signals stream ``signals`` signals."""
    bars = timeframes * maxlen * BYTES_PER_BAR
    return SHARED_BYTES + symbols * (BYTES_PER_SYMBOL + bars + signals * BYTES_PER_SIGNAL)


def footprint_warnings(store: RedisStore, settings: Settings) -> list[str]:
    """Return a warning if the watchlist's projected full history exceeds Redis maxmemory."""
    with translate_errors():
        limit = int(store.client.info("memory").get("maxmemory", 0))
    symbols = len(watchlist.entries(store))
    timeframes = len(load_config(store, settings).timeframes)
    maxlen, signals = settings.redis_streams_maxlen, settings.redis_signals_maxlen
    projected = projected_bytes(symbols, timeframes, maxlen, signals)
    if not limit or projected <= limit:
        return []
    return [
        f"projected full-history footprint {projected / MIB:,.0f} MiB exceeds Redis maxmemory "
        f"{limit / MIB:,.0f} MiB: {symbols} symbols x ({timeframes} timeframes x {maxlen:,} "
        f"bars (REDIS_STREAMS_MAXLEN) x ~{BYTES_PER_BAR} B + {signals:,} signals "
        f"(REDIS_SIGNALS_MAXLEN) x ~{BYTES_PER_SIGNAL} B); raise maxmemory, lower "
        "REDIS_STREAMS_MAXLEN or watch fewer symbols"
    ]
