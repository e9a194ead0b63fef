"""Redis memory budget: the projected full-history footprint of a watchlist against maxmemory.

The figures are measured, not guessed (docs/benchmarks.md, footprint table, and
docs/operations.md "Sizing Redis"): one symbol with full history, three timeframes x 10,000
bars in the compact encoding, took 1,995,036 bytes, so about ``BYTES_PER_BAR`` per stored bar
(its stream entry, about 56 B, and its share of the engine checkpoints the values are
recomputed from, about 6 B) plus ``BYTES_PER_SYMBOL`` of live, engine and strategy hashes. ``SHARED_BYTES`` covers the global
updates stream and signals. Update them when the storage encoding changes.
"""

from __future__ import annotations

from wagehood.service import watchlist
from wagehood.service.config import load_config
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore, translate_errors

BYTES_PER_BAR = 65
BYTES_PER_SYMBOL = 30_000
SHARED_BYTES = 64 * 2**20
MIB = 2**20


def projected_bytes(symbols: int, timeframes: int, maxlen: int) -> int:
    """Return the Redis bytes ``symbols`` take once every history stream holds ``maxlen``."""
    return SHARED_BYTES + symbols * (BYTES_PER_SYMBOL + timeframes * maxlen * BYTES_PER_BAR)


def footprint_warnings(store: RedisStore, settings: Settings) -> list[str]:
    """Return a warning if the watchlist's projected full history exceeds Redis maxmemory."""
    with translate_errors():
        limit = int(store.client.info("memory").get("maxmemory", 0))
    symbols = len(watchlist.entries(store))
    timeframes = len(load_config(store, settings).timeframes)
    projected = projected_bytes(symbols, timeframes, settings.redis_streams_maxlen)
    if not limit or projected <= limit:
        return []
    return [
        f"projected full-history footprint {projected / MIB:,.0f} MiB exceeds Redis maxmemory "
        f"{limit / MIB:,.0f} MiB: {symbols} symbols x {timeframes} timeframes x "
        f"{settings.redis_streams_maxlen:,} bars (REDIS_STREAMS_MAXLEN) x ~{BYTES_PER_BAR} B "
        "per bar; raise maxmemory, lower REDIS_STREAMS_MAXLEN or watch fewer symbols"
    ]
