"""Yahoo chart API against a local server speaking the documented format."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer

from tests.providers.fakes import SHORT_TIMEOUT, closed_port_url, slow_handler, wait_until_answered
from wagehood.errors import ProviderError, ProviderUnavailableError
from wagehood.providers.base import QuoteSource
from wagehood.providers.yahoo import YahooProvider
from wagehood.types import Quote

QUERY = {"range": "1d", "interval": "1m"}
NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}


def chart(
    symbol: str, price: object, when: int = 1700000000, volumes: object = None
) -> dict[str, object]:
    series = [1200, 900, 450, None] if volumes is None else volumes
    quote = {
        "open": [1.0] * 4,
        "high": [1.0] * 4,
        "low": [1.0] * 4,
        "close": [1.0] * 4,
        "volume": series,
    }
    meta = {
        "symbol": symbol,
        "currency": "USD",
        "regularMarketPrice": price,
        "regularMarketTime": when,
    }
    result = {
        "meta": meta,
        "timestamp": [when - 180, when - 120, when - 60, when],
        "indicators": {"quote": [quote]},
    }
    return {"chart": {"result": [result], "error": None}}


def expect_chart(httpserver: HTTPServer, symbol: str) -> object:
    return httpserver.expect_request(
        f"/v8/finance/chart/{symbol}", method="GET", query_string=QUERY
    )


@pytest.fixture
def provider(httpserver: HTTPServer) -> Iterator[YahooProvider]:
    yahoo = YahooProvider(httpserver.url_for(""), timeout=SHORT_TIMEOUT)
    yield yahoo
    yahoo.close()


def test_yahoo_satisfies_the_port() -> None:
    assert isinstance(YahooProvider("http://x"), QuoteSource)
    assert YahooProvider.max_batch == 1


def test_quotes_of_several_symbols_one_request_each(
    httpserver: HTTPServer, provider: YahooProvider
) -> None:
    expect_chart(httpserver, "AAPL").respond_with_json(chart("AAPL", 189.5))
    expect_chart(httpserver, "EURUSD=X").respond_with_json(
        chart("EURUSD=X", 1.0842, 1700000060, [5, None])
    )

    result = provider.get_quotes(["AAPL", "eurusd=x"], now=0)

    assert result.quotes == [
        Quote("AAPL", 1700000000.0, 189.5, 450.0),
        Quote("EURUSD=X", 1700000060.0, 1.0842, 5.0),
    ]
    assert result.failed == {}
    assert [req.path for req, _ in httpserver.log] == [
        "/v8/finance/chart/AAPL",
        "/v8/finance/chart/EURUSD=X",
    ]


def test_unknown_symbol_fails_only_itself(httpserver: HTTPServer, provider: YahooProvider) -> None:
    expect_chart(httpserver, "AAPL").respond_with_json(chart("AAPL", 189.5))
    expect_chart(httpserver, "ZZZZ").respond_with_json(NOT_FOUND, status=404)

    result = provider.get_quotes(["ZZZZ", "AAPL", "bad symbol!"], now=0)

    assert [q.symbol for q in result.quotes] == ["AAPL"]
    assert result.failed["ZZZZ"] == "yahoo: ZZZZ: Not Found: No data found, symbol may be delisted"
    assert "invalid symbol" in result.failed["bad symbol!"]


def test_missing_volume_series_gives_zero_volume(
    httpserver: HTTPServer, provider: YahooProvider
) -> None:
    body = chart("AAPL", 10.0, volumes=[None, None])
    expect_chart(httpserver, "AAPL").respond_with_json(body)

    assert provider.get_quotes(["AAPL"], now=0).quotes[0].volume == 0.0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (chart("AAPL", None), "bad price None"),
        (chart("AAPL", -1.0), "bad price -1.0"),
        (chart("AAPL", 10.0, when=0), "bad time 0"),
        (chart("MSFT", 10.0), "answered for another symbol 'MSFT'"),
        ({"chart": {"result": [], "error": None}}, "unexpected response, not a chart"),
        ({"something": "else"}, "unexpected response, not a chart"),
    ],
)
def test_garbage_chart_fails_that_symbol(
    httpserver: HTTPServer, provider: YahooProvider, body: object, reason: str
) -> None:
    expect_chart(httpserver, "AAPL").respond_with_json(body)

    result = provider.get_quotes(["AAPL"], now=0)

    assert result.quotes == []
    assert result.failed == {"AAPL": f"yahoo: AAPL: {reason}"}


@pytest.mark.parametrize(
    "raw",
    [
        "<html>blocked</html>",
        '{"chart": {"result": [{"meta": {"symbol": "AAPL", "regularMarketPrice": NaN, "regularMarketTime": 1700000000}}]}}',
    ],
)
def test_non_json_or_nan_body_fails_that_symbol(
    httpserver: HTTPServer, provider: YahooProvider, raw: str
) -> None:
    expect_chart(httpserver, "AAPL").respond_with_data(raw, content_type="application/json")
    expect_chart(httpserver, "MSFT").respond_with_json(chart("MSFT", 300.0))

    result = provider.get_quotes(["AAPL", "MSFT"], now=0)

    assert [q.symbol for q in result.quotes] == ["MSFT"]
    assert set(result.failed) == {"AAPL"}


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_access_is_permanent(
    httpserver: HTTPServer, provider: YahooProvider, status: int
) -> None:
    httpserver.expect_request("/v8/finance/chart/AAPL").respond_with_data(
        "Unauthorized", status=status
    )

    with pytest.raises(ProviderError, match=rf"^yahoo: credentials rejected \({status}\)$"):
        provider.get_quotes(["AAPL"], now=0)


@pytest.mark.parametrize("seconds", [0, 45])
def test_rate_limit_with_retry_after(
    httpserver: HTTPServer, provider: YahooProvider, seconds: int
) -> None:
    text = (
        str(seconds)
        if seconds == 0
        else format_datetime(
            datetime.fromtimestamp(datetime.now(UTC).timestamp() + seconds, UTC), usegmt=True
        )
    )
    httpserver.expect_request("/v8/finance/chart/AAPL").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": text}
    )

    with pytest.raises(ProviderUnavailableError, match=r"^yahoo: rate limited \(429\)") as caught:
        provider.get_quotes(["AAPL"], now=0)

    assert caught.value.retry_after == pytest.approx(seconds, abs=2)


def test_server_error_aborts_the_call(httpserver: HTTPServer, provider: YahooProvider) -> None:
    expect_chart(httpserver, "AAPL").respond_with_json(chart("AAPL", 1.0))
    httpserver.expect_request("/v8/finance/chart/MSFT").respond_with_data("", status=503)

    with pytest.raises(ProviderUnavailableError, match=r"^yahoo: server error \(503\)$"):
        provider.get_quotes(["AAPL", "MSFT"], now=0)


def test_timeout_is_temporary(httpserver: HTTPServer, provider: YahooProvider) -> None:
    httpserver.expect_request("/v8/finance/chart/AAPL").respond_with_handler(slow_handler())

    with pytest.raises(ProviderUnavailableError, match=r"^yahoo: request timed out"):
        provider.get_quotes(["AAPL"], now=0)

    wait_until_answered(httpserver)


def test_connection_refused_is_temporary() -> None:
    yahoo = YahooProvider(closed_port_url(), timeout=0.5)

    with pytest.raises(ProviderUnavailableError, match=r"^yahoo: cannot reach the server"):
        yahoo.get_quotes(["AAPL"], now=0)
    yahoo.close()
