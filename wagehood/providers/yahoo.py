"""Yahoo Finance chart API: one symbol per request.

``GET {base}/v8/finance/chart/{symbol}?range=1d&interval=1m`` answers
``{"chart": {"result": [{"meta": {"regularMarketPrice": ..., "regularMarketTime": ...},
"indicators": {"quote": [{"volume": [...], ...}]}}], "error": null}}``; an unknown symbol
answers 404 with ``chart.error.description``. A quote is ``regularMarketPrice`` at
``regularMarketTime``; its volume is the last non-null entry of the 1-minute volume series,
i.e. the volume of the latest (possibly still forming) minute: an approximation of "volume
since the previous quote".

This API is unofficial and unmetered by contract: requests per minute = symbols * 60 /
interval (``max_batch`` = 1), so the default 5-symbol watchlist polled every second makes
300 requests a minute. Yahoo publishes no limit and answers 429 when polled too hard; keep
large watchlists on a longer ``DATA_UPDATE_INTERVAL``.

Per-symbol problems (404, a body that is not the documented shape, a missing or non-finite
price) go into ``failed``; transport errors, timeouts, 5xx and 429 abort the whole call.

History (``get_bars``) asks the same endpoint with ``interval`` and ``period1``/``period2``
(epoch seconds) and reads ``timestamp[]`` with ``indicators.quote[0].{open,high,low,close,
volume}[]``; entries with a ``null`` price are holes and are skipped, a ``null`` volume
counts 0. Timeframes map to Yahoo intervals 1m, 5m, 15m, 30m, 60m (1h; 4h is 60m merged
into four-hour bars) and 1d. Yahoo serves 1m only for the last ~30 days and at most 7 days a
request, other intraday intervals for the last 60 days, 60m for the last 730 days (its
documented limits; asking beyond them answers 422): the range is clamped a day inside those
reaches (``INTERVALS``) and split into requests of at most the span allowed, so a range
costs a bounded number of requests per symbol. Bars are labelled with
``timeframe.floor(timestamp)``: for an exchange whose hourly bars start at :30 (US stocks)
the 1h bar at 14:00 is Yahoo's 14:30-15:30 bar. An entry that may still be forming (it ends
after the clock; a daily one before its UTC day is over) ends the history, together with the
bar it belongs to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple
from urllib.parse import quote as url_quote

from wagehood.bars import Row, resample
from wagehood.errors import ValidationError
from wagehood.providers import http
from wagehood.providers.base import HistoryResult, ProviderResult, RequestPermits
from wagehood.types import Bar, Quote, Timeframe, validate_symbol

if TYPE_CHECKING:
    import httpx  # at run time only http.py imports it, lazily

logger = logging.getLogger(__name__)

CHART_PATH = "/v8/finance/chart/"
CHART_PARAMS = {"range": "1d", "interval": "1m"}
DAY = 86400


class Interval(NamedTuple):
    """A Yahoo interval, its length, and how far back and how much per request it serves."""

    name: str
    seconds: int
    reach: int | None  # seconds back from now that Yahoo serves (None: all of it)
    span: int  # seconds of history one request may ask for


_INTRADAY = Interval("5m", 300, 59 * DAY, 59 * DAY)
_HOURLY = Interval("60m", 3600, 729 * DAY, 729 * DAY)
INTERVALS = {
    Timeframe.M1: Interval("1m", 60, 29 * DAY, 7 * DAY),
    Timeframe.M5: _INTRADAY,
    Timeframe.M15: _INTRADAY._replace(name="15m", seconds=900),
    Timeframe.M30: _INTRADAY._replace(name="30m", seconds=1800),
    Timeframe.H1: _HOURLY,
    Timeframe.H4: _HOURLY,
    Timeframe.D1: Interval("1d", DAY, None, 100 * 365 * DAY),
}


class YahooProvider:
    """Latest prices from Yahoo Finance's chart API (see the module docstring)."""

    name: ClassVar[str] = "yahoo"
    max_batch: ClassVar[int] = 1

    def __init__(
        self,
        base_url: str = "https://query1.finance.yahoo.com",
        timeout: float = 5.0,
        client: httpx.Client | None = None,
        budget: RequestPermits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        self._budget = budget
        self._owns_client = client is None
        self._client = client if client is not None else http.make_client(timeout)

    def __repr__(self) -> str:
        return f"YahooProvider({self.base_url!r})"

    def get_quotes(self, symbols: Sequence[str], now: float) -> ProviderResult:
        """Return the latest price of each symbol, one request per symbol.

        Raises:
            ProviderUnavailableError: network error, timeout, 5xx or 429; retry later.
            ProviderError: credentials rejected (401/403).
        """
        quotes: list[Quote] = []
        failed: dict[str, str] = {}
        for symbol in dict.fromkeys(symbols):
            try:
                quotes.append(self._quote(validate_symbol(symbol)))
            except ValidationError as error:
                failed[symbol] = f"yahoo: {error}"
        return ProviderResult(quotes=quotes, failed=failed)

    def get_bars(
        self, symbols: Sequence[str], timeframe: Timeframe, start: int, end: int
    ) -> HistoryResult:
        """Return the closed bars of each symbol in ``[start, end)``, clamped to Yahoo's reach.

        Raises:
            ProviderUnavailableError: network error, timeout, 5xx or 429; retry later.
            ProviderError: credentials rejected (401/403).
        """
        now = self._clock()
        interval = INTERVALS[timeframe]
        if interval.reach is not None:
            start = max(start, int(now) - interval.reach)
        bars: dict[str, list[Bar]] = {}
        failed: dict[str, str] = {}
        for symbol in dict.fromkeys(symbols):
            try:
                canonical = validate_symbol(symbol)
                rows = self._history(canonical, interval, start, end)
            except ValidationError as error:
                failed[symbol] = f"yahoo: {error}"
                continue
            bars[canonical] = _closed_bars(canonical, timeframe, interval, rows, (start, end, now))
        return HistoryResult(bars=bars, failed=failed)

    def close(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            self._client.close()

    def _quote(self, symbol: str) -> Quote:
        return _parse_chart(symbol, self._chart(symbol, CHART_PARAMS, history=False))

    def _chart(self, symbol: str, params: dict[str, str], *, history: bool) -> httpx.Response:
        url = self.base_url + CHART_PATH + url_quote(symbol, safe="")
        response = http.get(
            self.name, self._client, url, params, budget=self._budget, acquire=history
        )
        if response.status_code == 404:
            raise ValidationError(f"{symbol}: {_chart_error(response)}")
        if response.status_code in (400, 422):
            raise ValidationError(
                f"{symbol}: rejected ({response.status_code}): {_chart_error(response)}"
            )
        http.raise_for_status(self.name, response)
        return response

    # The rows of ``symbol`` in [start, end), one request per ``interval.span``, by time.
    def _history(self, symbol: str, interval: Interval, start: int, end: int) -> list[Row]:
        rows: dict[int, Row] = {}
        for first, last in _windows(start, end, interval.span):
            params = {"interval": interval.name, "period1": str(first), "period2": str(last)}
            rows.update(
                (int(row[0]), row)
                for row in _parse_rows(symbol, self._chart(symbol, params, history=True))
            )
        return [rows[t] for t in sorted(rows) if start <= t < end]


def _parse_chart(symbol: str, response: httpx.Response) -> Quote:
    try:
        body = response.json()
        result = body["chart"]["result"][0]
        meta = result["meta"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ValidationError(f"{symbol}: unexpected response, not a chart") from None
    if not isinstance(meta, dict):
        raise ValidationError(f"{symbol}: unexpected response, no chart meta")
    answered = meta.get("symbol")
    if isinstance(answered, str) and answered.upper() != symbol:
        raise ValidationError(f"{symbol}: answered for another symbol {answered!r}")
    price = http.positive_number(meta.get("regularMarketPrice"))
    if price is None:
        raise ValidationError(f"{symbol}: bad price {meta.get('regularMarketPrice')!r}")
    when = http.positive_number(meta.get("regularMarketTime"))
    if when is None:
        raise ValidationError(f"{symbol}: bad time {meta.get('regularMarketTime')!r}")
    return Quote(symbol=symbol, time=when, price=price, volume=_last_volume(result))


# The last non-null entry of indicators.quote[0].volume, or 0 when there is none.
def _last_volume(result: Any) -> float:
    try:
        volumes = result["indicators"]["quote"][0]["volume"]
    except (KeyError, IndexError, TypeError):
        return 0.0
    if not isinstance(volumes, list):
        return 0.0
    last = next((v for v in reversed(volumes) if v is not None), None)
    return http.volume_number(last)


def _chart_error(response: httpx.Response) -> str:
    try:
        error = response.json()["chart"]["error"]
        return http.one_line(f"{error['code']}: {error['description']}")
    except (ValueError, KeyError, TypeError):
        return "not found (404)" if response.status_code == 404 else "no chart error given"


# [start, end) cut into windows of at most ``span`` seconds.
def _windows(start: int, end: int, span: int) -> Iterator[tuple[int, int]]:
    for first in range(start, end, span):
        yield first, min(first + span, end)


# The valid entries of a chart response: (time, open, high, low, close, volume) ascending.
def _parse_rows(symbol: str, response: httpx.Response) -> list[Row]:
    try:
        chart = response.json()["chart"]
        if chart.get("error"):
            raise ValidationError(f"{symbol}: {_chart_error(response)}")
        result = chart["result"][0]
        times = result.get("timestamp") or []
        quote = result["indicators"]["quote"][0] if times else {}
        columns = [
            quote.get(name) or [None] * len(times) for name in ("open", "high", "low", "close")
        ]
        volumes = quote.get("volume") or [None] * len(times)
        entries = list(zip(times, *columns, volumes, strict=True))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ValidationError(f"{symbol}: unexpected response, not a chart") from None
    rows: list[Row] = []
    for when, *prices, volume in entries:
        moment = http.positive_number(when)
        o, h, l, c = (http.positive_number(price) for price in prices)  # noqa: E741
        if moment is None or o is None or h is None or l is None or c is None:
            continue  # a hole: Yahoo sends nulls for minutes without trades
        rows.append((moment, o, h, l, c, http.volume_number(volume)))
    return sorted(rows)


def _closed_bars(
    symbol: str,
    timeframe: Timeframe,
    interval: Interval,
    rows: list[Row],
    window: tuple[int, float, float],
) -> list[Bar]:
    # Bars of ``rows`` with start <= bar time < end, up to the bar of the first entry that
    # may still be forming at ``now``.
    start, end, now = window
    cutoff = float(end)
    for row in rows:
        ends = (
            Timeframe.D1.floor(row[0]) + DAY
            if interval.seconds == DAY
            else row[0] + interval.seconds
        )
        if ends > now:
            cutoff = min(cutoff, timeframe.floor(row[0]))
            break
    return [bar for bar in resample(symbol, timeframe, rows) if start <= bar.time < cutoff]
