"""Fetching quotes and history for a batch of symbols, behind the provider's shared breaker."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pybreaker

from wagehood.errors import ProviderUnavailableError, TemporaryError
from wagehood.providers.base import BarSource, HistoryResult, QuoteSource
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors
from wagehood.types import Quote, Timeframe

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchResult:
    """Quotes fetched for a batch, and the symbols that failed with a reason each."""

    quotes: list[Quote]
    failed: dict[str, str] = field(default_factory=dict)

    def payload(self) -> list[list[Any]]:
        """Return the quotes as JSON primitives for the next task."""
        return [[q.symbol, q.time, q.price, q.volume] for q in self.quotes]


def quotes_from_payload(rows: Sequence[Sequence[Any]]) -> list[Quote]:
    """Rebuild quotes from ``FetchResult.payload()``."""
    return [Quote(str(s), float(t), float(p), float(v)) for s, t, p, v in rows]


def fetch(
    source: QuoteSource,
    breaker: pybreaker.CircuitBreaker,
    store: RedisStore,
    symbols: Sequence[str],
    now: float,
) -> FetchResult:
    """Return the latest quotes for ``symbols`` from ``source``.

    Raises:
        ProviderUnavailableError: the provider failed temporarily, or its circuit is open.
        ProviderError: the provider refused the request for good (e.g. bad credentials).
    """
    try:
        result = breaker.call(source.get_quotes, symbols, now)
    except pybreaker.CircuitBreakerError as error:
        raise ProviderUnavailableError(
            f"{source.name}: circuit open after repeated failures", retry_after=30
        ) from error
    wanted = set(symbols)
    quotes = [q for q in result.quotes if q.symbol in wanted]
    failed = dict(result.failed)
    if failed:
        logger.warning("%s: %d symbol(s) failed: %s", source.name, len(failed), _summary(failed))
        _count_failures(store, source.name, failed)
    return FetchResult(quotes, failed)


def fetch_history(
    source: BarSource,
    breaker: pybreaker.CircuitBreaker,
    store: RedisStore,
    symbols: Sequence[str],
    timeframe: Timeframe,
    *,
    start: int,
    end: int,
) -> HistoryResult:
    """Return the closed bars of ``symbols`` with ``start <= bar.time < end`` from ``source``.

    ``end`` must be at most ``timeframe.floor(now)`` so that every bar returned has closed.
    Bars of symbols not asked for are dropped; unknown symbols are in ``failed`` and counted
    like failed quotes.

    Raises:
        ProviderUnavailableError: the provider failed temporarily, or its circuit is open.
        ProviderError: the provider refused the request for good (e.g. bad credentials).
    """
    try:
        result = breaker.call(source.get_bars, symbols, timeframe, start, end)
    except pybreaker.CircuitBreakerError as error:
        raise ProviderUnavailableError(
            f"{source.name}: circuit open after repeated failures", retry_after=30
        ) from error
    wanted = set(symbols)
    bars = {symbol: bars for symbol, bars in result.bars.items() if symbol in wanted}
    failed = dict(result.failed)
    if failed:
        logger.warning(
            "%s: history of %d symbol(s) failed: %s", source.name, len(failed), _summary(failed)
        )
        _count_failures(store, source.name, failed)
    return HistoryResult(bars, failed)


def _summary(failed: dict[str, str]) -> str:
    items = list(failed.items())[:5]
    return "; ".join(f"{s}: {r}" for s, r in items) + (" ..." if len(failed) > 5 else "")


def _count_failures(store: RedisStore, provider: str, failed: dict[str, str]) -> None:
    try:
        with translate_errors():
            store.client.hincrby(keys.STATS, f"provider_symbol_errors:{provider}", len(failed))
    except TemporaryError:
        logger.warning("could not record provider failures: redis unavailable")
