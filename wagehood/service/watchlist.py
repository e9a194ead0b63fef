"""The watchlist: which symbols are fetched, from which provider; changeable at run time.

Kept in the ``wh:watchlist`` hash (symbol -> JSON). It is seeded once from
``WATCHLIST_SYMBOLS``; after that only the API and CLI change it, so an emptied watchlist
stays empty across restarts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wagehood.errors import NotFoundError, ValidationError
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors
from wagehood.types import validate_symbol

MAX_SYMBOLS = 10_000
SEEDED = f"{keys.WATCHLIST}:seeded"
PROVIDERS = ("mock", "csv", "alpaca", "yahoo")


@dataclass(frozen=True)
class WatchEntry:
    """One watched symbol and the provider it is fetched from."""

    symbol: str
    data_provider: str
    added_at: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "symbol": self.symbol,
            "data_provider": self.data_provider,
            "added_at": self.added_at,
        }


def parse_entry(raw: Any, default_provider: str) -> tuple[str, str]:
    """Return ``(symbol, provider)`` from a symbol string or ``{"symbol", "data_provider"}``."""
    if isinstance(raw, Mapping):
        provider = raw.get("data_provider") or default_provider
        symbol_text = raw.get("symbol")
    else:
        provider, symbol_text = default_provider, raw
    if not isinstance(symbol_text, str):
        raise ValidationError("symbol must be a string", "symbol")
    if provider not in PROVIDERS:
        raise ValidationError(
            f"unknown data_provider {provider!r}; choose one of {', '.join(PROVIDERS)}",
            "data_provider",
        )
    return validate_symbol(symbol_text), str(provider)


def seed(store: RedisStore, settings: Settings) -> None:
    """Fill the watchlist from ``WATCHLIST_SYMBOLS`` the first time Wagehood starts."""
    with translate_errors():
        if not store.client.set(SEEDED, "1", nx=True):
            return
    add(store, [(s, settings.data_provider) for s in settings.watchlist_symbols])


def entries(store: RedisStore) -> list[WatchEntry]:
    """Return the watched symbols, sorted."""
    with translate_errors():
        raw = store.client.hgetall(keys.WATCHLIST)
    return [_decode(symbol, value) for symbol, value in sorted(raw.items())]


def add(store: RedisStore, items: Iterable[tuple[str, str]]) -> list[WatchEntry]:
    """Add (or re-point) symbols; return the entries written."""
    now = time.time()
    added = [WatchEntry(symbol, provider, now) for symbol, provider in items]
    if not added:
        return []
    with translate_errors():
        if store.client.hlen(keys.WATCHLIST) + len(added) > MAX_SYMBOLS:
            raise ValidationError(f"the watchlist holds at most {MAX_SYMBOLS} symbols", "symbols")
        store.client.hset(keys.WATCHLIST, mapping={e.symbol: _encode(e) for e in added})
    return added


def remove(store: RedisStore, symbol: str) -> None:
    """Stop watching ``symbol``; its stored state and history stay."""
    with translate_errors():
        if not store.client.hdel(keys.WATCHLIST, validate_symbol(symbol)):
            raise NotFoundError(f"{symbol} is not on the watchlist")


def replace_all(store: RedisStore, items: Iterable[tuple[str, str]]) -> list[WatchEntry]:
    """Make the watchlist exactly ``items``."""
    now = time.time()
    new = [WatchEntry(symbol, provider, now) for symbol, provider in dict(items).items()]
    if len(new) > MAX_SYMBOLS:
        raise ValidationError(f"the watchlist holds at most {MAX_SYMBOLS} symbols", "symbols")
    with translate_errors():
        pipe = store.client.pipeline(transaction=True)
        pipe.delete(keys.WATCHLIST)
        if new:
            pipe.hset(keys.WATCHLIST, mapping={e.symbol: _encode(e) for e in new})
        pipe.set(SEEDED, "1")
        pipe.execute()
    return new


def batches(
    watch: Iterable[WatchEntry],
    batch_size: int,
    max_batch: Mapping[str, int],
    spread: int = 1,
) -> list[tuple[str, list[str]]]:
    """Group symbols by provider into even fetch batches of at most ``batch_size`` symbols.

    A provider's symbols are cut into ``max(ceil(n / size), min(spread, n))`` batches of
    near-equal size, ``size`` being ``batch_size`` capped by the provider's request size: big
    batches spread the per-task cost of Celery over many symbols, and ``spread`` (the worker
    processes of a node) keeps a small watchlist split across processes so that they work in
    parallel. The grouping is stable (sorted symbols), so a symbol stays in the same batch
    from one tick to the next as long as the watchlist does not change.
    """
    by_provider: dict[str, list[str]] = {}
    for entry in sorted(watch, key=lambda e: e.symbol):
        by_provider.setdefault(entry.data_provider, []).append(entry.symbol)
    result = []
    for provider, symbols in sorted(by_provider.items()):
        size = max(1, min(batch_size, max_batch.get(provider, batch_size)))
        count = max(-(-len(symbols) // size), min(spread, len(symbols)))
        step, extra = divmod(len(symbols), count)
        start = 0
        for index in range(count):
            end = start + step + (index < extra)
            result.append((provider, symbols[start:end]))
            start = end
    return result


def plan_batches(store: RedisStore, settings: Settings, tick: float) -> list[tuple[str, list[str]]]:
    """Return this tick's fetch batches and record beat's heartbeat.

    Providers with a request budget are polled within it (``wagehood.service.budgets``).
    """
    from wagehood.providers.registry import max_batch_sizes  # noqa: PLC0415 - providers are optional here
    from wagehood.service.budgets import budgeted_batches, within_budget  # noqa: PLC0415 - they import this module

    seed(store, settings)
    with translate_errors():
        store.client.set(keys.BEAT_HEARTBEAT, repr(tick))
    polled = within_budget(store, settings, entries(store), tick)
    whole = budgeted_batches(settings)  # a batch is one budgeted request: never split it
    size, sizes = settings.batch_calculation_size, max_batch_sizes()
    return batches(
        [e for e in polled if e.data_provider not in whole],
        size,
        sizes,
        spread=settings.calculation_workers,
    ) + batches([e for e in polled if e.data_provider in whole], size, sizes)


def _encode(entry: WatchEntry) -> str:
    return json.dumps({"data_provider": entry.data_provider, "added_at": entry.added_at})


def _decode(symbol: str, value: str) -> WatchEntry:
    data = json.loads(value)
    return WatchEntry(symbol, data["data_provider"], float(data["added_at"]))
