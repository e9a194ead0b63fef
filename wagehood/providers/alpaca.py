"""Alpaca Market Data API v2: the latest trade of many symbols in one request.

``GET {base}/v2/stocks/trades/latest?symbols=AAPL,MSFT&feed=iex`` with the headers
``APCA-API-KEY-ID`` and ``APCA-API-SECRET-KEY`` answers
``{"trades": {"AAPL": {"t": "2021-02-06T13:04:56.334320128Z", "p": 387.62, "s": 100, ...}}}``.
A quote is the trade price ``p`` at its time ``t`` (RFC 3339, nanoseconds truncated to
microseconds). Its volume is the size ``s`` of that one trade: an approximation, since
polling sees only the last trade, not everything traded since the previous poll.

Requests per minute = ceil(symbols / max_batch) * 60 / interval. With ``max_batch`` = 200
(keeps the URL well under 8 KB) and the default 5-symbol watchlist polled every second that
is 60 requests a minute; Alpaca's free plan allows 200 a minute, i.e. up to 600 symbols at
one-second polling or any larger watchlist at ``interval >= 0.3 * ceil(symbols / 200)`` s.

Symbols Alpaca does not answer for are reported in ``failed``; symbols it answers for that
were not asked are ignored. The secret never appears in messages, logs or ``repr``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from wagehood.errors import ProviderError, ValidationError
from wagehood.providers import http
from wagehood.providers.base import HistoryResult, ProviderResult
from wagehood.types import Quote, Timeframe, validate_symbol

if TYPE_CHECKING:
    import httpx  # at run time only http.py imports it, lazily

logger = logging.getLogger(__name__)

TRADES_PATH = "/v2/stocks/trades/latest"


class AlpacaProvider:
    """Latest trades from Alpaca's market-data API (see the module docstring)."""

    name: ClassVar[str] = "alpaca"
    max_batch: ClassVar[int] = 200

    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret: str,
        *,
        feed: str = "iex",
        timeout: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.feed = feed
        self._headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret}
        self._owns_client = client is None
        self._client = client if client is not None else http.make_client(timeout)

    def __repr__(self) -> str:
        return f"AlpacaProvider({self.base_url!r}, feed={self.feed!r})"

    def get_quotes(self, symbols: Sequence[str], now: float) -> ProviderResult:
        """Return the latest trade of each symbol, asking ``max_batch`` symbols a request.

        Raises:
            ProviderUnavailableError: network error, timeout, 5xx or 429; retry later.
            ProviderError: credentials rejected or a response that cannot be read.
        """
        wanted, failed = _canonical(symbols)
        quotes: list[Quote] = []
        for start in range(0, len(wanted), self.max_batch):
            batch = wanted[start : start + self.max_batch]
            trades = self._latest_trades(batch)
            for symbol in batch:
                try:
                    quotes.append(_quote(symbol, trades.get(symbol)))
                except ValidationError as error:
                    failed[symbol] = f"alpaca: {error}"
        return ProviderResult(quotes=quotes, failed=failed)

    def get_bars(
        self, symbols: Sequence[str], timeframe: Timeframe, start: int, end: int
    ) -> HistoryResult:
        """Return closed bars; not implemented yet for this provider."""
        raise ProviderError(f"{self.name}: history is not implemented yet")

    def close(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            self._client.close()

    def _latest_trades(self, batch: Sequence[str]) -> Mapping[str, object]:
        params = {"symbols": ",".join(batch), "feed": self.feed}
        logger.debug("alpaca: latest trades of %d symbols", len(batch))
        url = self.base_url + TRADES_PATH
        response = http.get(self.name, self._client, url, params, self._headers)
        http.raise_for_status(self.name, response)
        try:
            body = response.json()
        except ValueError:
            raise ProviderError("alpaca: response is not JSON") from None
        trades = body.get("trades") if isinstance(body, dict) else None
        if not isinstance(trades, dict):
            raise ProviderError("alpaca: unexpected response, no 'trades' object")
        return trades


# Split requested symbols into canonical unique ones and a failed map for invalid ones.
def _canonical(symbols: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    wanted: dict[str, None] = {}
    failed: dict[str, str] = {}
    for symbol in symbols:
        try:
            wanted[validate_symbol(symbol)] = None
        except ValidationError as error:
            failed[symbol] = f"alpaca: {error}"
    return list(wanted), failed


def _quote(symbol: str, trade: object) -> Quote:
    if trade is None:
        raise ValidationError("no latest trade (unknown symbol or none on this feed)")
    if not isinstance(trade, dict):
        raise ValidationError(f"unexpected trade {_short(trade)}")
    price = http.positive_number(trade.get("p"))
    if price is None:
        raise ValidationError(f"bad price {_short(trade.get('p'))}")
    return Quote(
        symbol=symbol,
        time=_trade_time(trade.get("t")),
        price=price,
        volume=http.volume_number(trade.get("s")),
    )


def _trade_time(value: object) -> float:
    if not isinstance(value, str):
        raise ValidationError(f"bad trade time {_short(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"bad trade time {_short(value)}") from None
    if moment.tzinfo is None:
        raise ValidationError(f"trade time {value!r} has no offset")
    return moment.timestamp()


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
