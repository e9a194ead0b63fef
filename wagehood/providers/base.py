"""The data-provider ports: latest quotes for many symbols, and closed bars for a time range.

``get_quotes(symbols, now)`` returns at most one ``Quote`` per requested symbol: the last
trade price known at ``now`` (epoch seconds), its time, and the volume traded since the
previous quote the provider reported for that symbol (best effort; documented per provider).
Symbols a provider does not know are left out and reported in ``ProviderResult.failed``.

Errors are classified by what the caller should do:
- ``ProviderUnavailableError`` (a ``TemporaryError``): network error, timeout, 5xx, 429
  (``retry_after`` set from Retry-After) — retry the whole call with backoff;
- ``ProviderError`` (a ``DataError``): a permanent problem, e.g. 401/403 bad credentials
  or an unparseable body — do not retry.
Per-symbol problems (unknown symbol, garbage price) go into ``failed`` with a reason, never
abort the other symbols.

``get_bars(symbols, timeframe, start, end)`` returns every closed bar of each symbol with
``start <= bar.time < end`` (bar open times, epoch seconds), ascending by time. The caller
passes ``end <= timeframe.floor(now)``, so every bar asked for has closed; ``now`` is the
provider's clock, i.e. the time of its latest quote (the csv provider's is its replay's
data time, not the wall clock). Adapters paginate
internally (bounded loops), raise the same error classes as ``get_quotes``, and report
unknown symbols in ``HistoryResult.failed``. A symbol with no bars in the range (a closed
market) is in neither: its sequence is empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from wagehood.types import Bar, Quote, Timeframe


@dataclass(frozen=True)
class ProviderResult:
    """Quotes fetched in one call, and the symbols that failed with a reason each."""

    quotes: Sequence[Quote]
    failed: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class QuoteSource(Protocol):
    """A source of latest quotes for a batch of symbols."""

    name: ClassVar[str]
    max_batch: ClassVar[int]  # symbols per request the vendor allows

    def get_quotes(self, symbols: Sequence[str], now: float) -> ProviderResult:
        """Return the latest quote for each symbol at time ``now``."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class HistoryResult:
    """Closed bars fetched in one call, per symbol ascending by time, and the symbols that failed."""

    bars: Mapping[str, Sequence[Bar]]
    failed: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class BarSource(Protocol):
    """A source of closed historical bars; every provider implements it beside ``get_quotes``."""

    name: ClassVar[str]

    def get_bars(
        self, symbols: Sequence[str], timeframe: Timeframe, start: int, end: int
    ) -> HistoryResult:
        """Return every closed bar with ``start <= bar.time < end`` of each symbol.

        Raises:
            ProviderUnavailableError: network error, timeout, 5xx or 429 (``RateLimitedError``),
                or the shared request budget has no permit soon (``BudgetExceededError``);
                retry after ``retry_after``.
            ProviderError: a permanent problem (bad credentials, unreadable response).
        """
        ...


@runtime_checkable
class Provider(QuoteSource, BarSource, Protocol):
    """A data provider: latest quotes and closed historical bars."""


class RequestPermits(Protocol):
    """A shared request budget an HTTP provider draws on (``wagehood.storage.budget``)."""

    def acquire(self) -> None:
        """Wait for one request permit; raise ``BudgetExceededError`` if none comes soon."""
        ...

    def pause(self, seconds: float | None) -> float:
        """The vendor answered 429: allow no request for ``seconds``."""
        ...
