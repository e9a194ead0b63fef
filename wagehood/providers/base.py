"""The data-provider port: fetch the latest quotes for many symbols in one call.

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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from wagehood.types import Quote


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
