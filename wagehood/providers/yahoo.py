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
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote as url_quote

from wagehood.errors import ProviderError, ValidationError
from wagehood.providers import http
from wagehood.providers.base import HistoryResult, ProviderResult
from wagehood.types import Quote, Timeframe, validate_symbol

if TYPE_CHECKING:
    import httpx  # at run time only http.py imports it, lazily

logger = logging.getLogger(__name__)

CHART_PATH = "/v8/finance/chart/"
CHART_PARAMS = {"range": "1d", "interval": "1m"}


class YahooProvider:
    """Latest prices from Yahoo Finance's chart API (see the module docstring)."""

    name: ClassVar[str] = "yahoo"
    max_batch: ClassVar[int] = 1

    def __init__(
        self,
        base_url: str = "https://query1.finance.yahoo.com",
        timeout: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
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
        """Return closed bars; not implemented yet for this provider."""
        raise ProviderError(f"{self.name}: history is not implemented yet")

    def close(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            self._client.close()

    def _quote(self, symbol: str) -> Quote:
        url = self.base_url + CHART_PATH + url_quote(symbol, safe="")
        response = http.get(self.name, self._client, url, CHART_PARAMS)
        if response.status_code == 404:
            raise ValidationError(f"{symbol}: {_chart_error(response)}")
        if response.status_code in (400, 422):
            raise ValidationError(f"{symbol}: rejected ({response.status_code})")
        http.raise_for_status(self.name, response)
        return _parse_chart(symbol, response)


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
        return "not found (404)"
