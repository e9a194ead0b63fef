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

History (``get_bars``): ``GET {base}/v2/stocks/bars?symbols=A,B&timeframe=1Min&start=..&end=..
&limit=10000&feed=iex`` answers ``{"bars": {"A": [{"t", "o", "h", "l", "c", "v", "n", "vw"}]},
"next_page_token": ...}``: at most ``limit`` bars a page over all symbols, each symbol's bars
ascending, a page may end mid-symbol; the next page is asked with ``page_token`` until the
token is null, at most ``MAX_PAGES`` pages a batch. Timeframes map to 1Min, 5Min, 15Min,
30Min, 1Hour, 4Hour and 1Day; bars are labelled ``timeframe.floor(t)`` (Alpaca's daily bars
start at midnight New York time, i.e. 04:00 or 05:00 UTC of the same date). Alpaca answers
nothing for a symbol it does not know, which cannot be told from a symbol without trades in
the range: both get no bars (``get_quotes`` reports an unknown one). A 400/422 (e.g. an
invalid symbol) fails the symbols of that batch with Alpaca's message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from wagehood.bars import Row, resample
from wagehood.errors import ProviderError, ValidationError
from wagehood.providers import http
from wagehood.providers.base import HistoryResult, ProviderResult, RequestPermits
from wagehood.types import Quote, Timeframe, validate_symbol

if TYPE_CHECKING:
    import httpx  # at run time only http.py imports it, lazily

logger = logging.getLogger(__name__)

TRADES_PATH = "/v2/stocks/trades/latest"
BARS_PATH = "/v2/stocks/bars"
PAGE_LIMIT = 10_000  # bars a page, Alpaca's maximum
MAX_PAGES = 1_000  # pages a batch: 10 million bars, far beyond any warm-up
TIMEFRAMES = {
    Timeframe.M1: "1Min",
    Timeframe.M5: "5Min",
    Timeframe.M15: "15Min",
    Timeframe.M30: "30Min",
    Timeframe.H1: "1Hour",
    Timeframe.H4: "4Hour",
    Timeframe.D1: "1Day",
}


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
        budget: RequestPermits | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.feed = feed
        self._headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret}
        self._budget = budget
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
        """Return the bars of each symbol in ``[start, end)``, ``max_batch`` symbols a request.

        Raises:
            ProviderUnavailableError: network error, timeout, 5xx or 429; retry later.
            ProviderError: credentials rejected, a response that cannot be read, or
                pagination that does not end.
        """
        wanted, failed = _canonical(symbols)
        rows: dict[str, list[Row]] = {symbol: [] for symbol in wanted}
        for first in range(0, len(wanted) if start < end else 0, self.max_batch):
            batch = wanted[first : first + self.max_batch]
            try:
                for symbol, bar in self._bar_pages(batch, timeframe, start, end):
                    _add_row(rows, failed, symbol, bar)
            except ValidationError as error:
                failed.update((symbol, f"alpaca: {error}") for symbol in batch)
        bars = {
            symbol: [b for b in resample(symbol, timeframe, symbol_rows) if start <= b.time < end]
            for symbol, symbol_rows in rows.items()
            if symbol not in failed
        }
        return HistoryResult(bars=bars, failed=failed)

    def close(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            self._client.close()

    def _latest_trades(self, batch: Sequence[str]) -> Mapping[str, object]:
        params = {"symbols": ",".join(batch), "feed": self.feed}
        logger.debug("alpaca: latest trades of %d symbols", len(batch))
        url = self.base_url + TRADES_PATH
        response = http.get(
            self.name, self._client, url, params, self._headers, budget=self._budget
        )
        http.raise_for_status(self.name, response)
        try:
            body = response.json()
        except ValueError:
            raise ProviderError("alpaca: response is not JSON") from None
        trades = body.get("trades") if isinstance(body, dict) else None
        if not isinstance(trades, dict):
            raise ProviderError("alpaca: unexpected response, no 'trades' object")
        return trades

    # (symbol, row) of every bar on every page of one batch, following next_page_token.
    def _bar_pages(
        self, batch: Sequence[str], timeframe: Timeframe, start: int, end: int
    ) -> Iterator[tuple[str, object]]:
        params = {
            "symbols": ",".join(batch),
            "timeframe": TIMEFRAMES[timeframe],
            "start": _rfc3339(start),
            "end": _rfc3339(end),
            "limit": str(PAGE_LIMIT),
            "feed": self.feed,
        }
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            response = http.get(
                self.name,
                self._client,
                self.base_url + BARS_PATH,
                params,
                self._headers,
                budget=self._budget,
                acquire=True,
            )
            if response.status_code in (400, 422):
                raise ValidationError(
                    f"request rejected ({response.status_code}): {http.vendor_message(response)}"
                )
            http.raise_for_status(self.name, response)
            page, token = _bars_page(response)
            for symbol, bars in page.items():
                yield from ((symbol, bar) for bar in bars)
            if token is None:
                return
            if token in seen:
                raise ProviderError("alpaca: next_page_token repeats; pagination does not end")
            seen.add(token)
            params["page_token"] = token
        raise ProviderError(f"alpaca: more than {MAX_PAGES} pages of bars; ask a shorter range")


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


def _rfc3339(time: int) -> str:
    return datetime.fromtimestamp(time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# A page's bars by symbol and its next_page_token; ProviderError if it is not that shape.
def _bars_page(response: httpx.Response) -> tuple[dict[str, list[object]], str | None]:
    try:
        body = response.json()
    except ValueError:
        raise ProviderError("alpaca: response is not JSON") from None
    if not isinstance(body, dict) or "bars" not in body:
        raise ProviderError("alpaca: unexpected response, no 'bars' object")
    bars = body["bars"] or {}  # null when no symbol has bars in the range
    token = body.get("next_page_token")
    if not isinstance(bars, dict) or not all(isinstance(b, list) for b in bars.values()):
        raise ProviderError("alpaca: unexpected response, 'bars' is not lists by symbol")
    if token is not None and not (isinstance(token, str) and token):
        raise ProviderError(f"alpaca: unexpected next_page_token {_short(token)}")
    return bars, token


# Append a page's bar to its symbol's rows; a bad bar fails its symbol, not the others.
def _add_row(rows: dict[str, list[Row]], failed: dict[str, str], symbol: str, bar: object) -> None:
    if symbol not in rows or symbol in failed:
        return
    try:
        rows[symbol].append(_bar_row(bar))
    except ValidationError as error:
        failed[symbol] = f"alpaca: {error}"


def _bar_row(bar: object) -> Row:
    if not isinstance(bar, dict):
        raise ValidationError(f"unexpected bar {_short(bar)}")
    o, h, l, c = (http.positive_number(bar.get(name)) for name in ("o", "h", "l", "c"))  # noqa: E741
    if o is None or h is None or l is None or c is None:
        raise ValidationError(f"bad bar prices {_short(bar)}")
    return (_trade_time(bar.get("t")), o, h, l, c, http.volume_number(bar.get("v")))
