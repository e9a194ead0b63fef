"""Alpaca latest trades against a local server speaking the documented format."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.providers.fakes import SHORT_TIMEOUT, closed_port_url, slow_handler, wait_until_answered
from wagehood.errors import ProviderError, ProviderUnavailableError
from wagehood.providers.alpaca import TRADES_PATH, AlpacaProvider
from wagehood.providers.base import QuoteSource
from wagehood.types import Quote

KEY, SECRET = "PKTESTKEY", "s3cr3t-never-shown"
HEADERS = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}
T_AAPL = "2021-02-06T13:04:56.334320128Z"
T_MSFT = "2021-02-06T13:05:01Z"


def trade(t: str, price: object, size: object = 100) -> dict[str, object]:
    return {"t": t, "x": "C", "p": price, "s": size, "c": [" ", "T"], "i": 52983525029461, "z": "C"}


@pytest.fixture
def provider(httpserver: HTTPServer) -> Iterator[AlpacaProvider]:
    alpaca = AlpacaProvider(httpserver.url_for(""), KEY, SECRET, feed="iex", timeout=SHORT_TIMEOUT)
    yield alpaca
    alpaca.close()


def expect_trades(httpserver: HTTPServer, symbols: str) -> object:
    query = {"symbols": symbols, "feed": "iex"}
    return httpserver.expect_request(TRADES_PATH, method="GET", query_string=query, headers=HEADERS)


def test_alpaca_satisfies_the_port() -> None:
    assert isinstance(AlpacaProvider("http://x", KEY, SECRET), QuoteSource)
    assert AlpacaProvider.max_batch == 200


def test_latest_trades_of_several_symbols_in_one_request(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    body = {"trades": {"AAPL": trade(T_AAPL, 387.62, 100), "MSFT": trade(T_MSFT, 242.2, 5)}}
    expect_trades(httpserver, "AAPL,MSFT").respond_with_json(body)

    result = provider.get_quotes(["AAPL", "msft"], now=0)

    assert result.quotes == [
        Quote("AAPL", datetime(2021, 2, 6, 13, 4, 56, 334320, UTC).timestamp(), 387.62, 100.0),
        Quote("MSFT", datetime(2021, 2, 6, 13, 5, 1, tzinfo=UTC).timestamp(), 242.2, 5.0),
    ]
    assert result.failed == {}
    assert len(httpserver.log) == 1


def test_unknown_symbols_fail_and_unrequested_ones_are_ignored(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    body = {"trades": {"AAPL": trade(T_AAPL, 1.5), "TSLA": trade(T_AAPL, 2.5)}}
    expect_trades(httpserver, "AAPL,ZZZZ").respond_with_json(body)

    result = provider.get_quotes(["AAPL", "ZZZZ", "not valid"], now=0)

    assert [q.symbol for q in result.quotes] == ["AAPL"]
    assert set(result.failed) == {"ZZZZ", "not valid"}
    assert result.failed["ZZZZ"].startswith("alpaca: no latest trade")


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (trade(T_AAPL, float("nan")), "bad price nan"),
        (trade(T_AAPL, -3.0), "bad price -3.0"),
        (trade(T_AAPL, None), "bad price None"),
        (trade(T_AAPL, "12.5"), "bad price '12.5'"),
        (trade("yesterday", 12.5), "bad trade time 'yesterday'"),
        ("garbage", "unexpected trade 'garbage'"),
    ],
)
def test_garbage_trade_fails_only_that_symbol(
    httpserver: HTTPServer, provider: AlpacaProvider, entry: object, reason: str
) -> None:
    body = {"trades": {"AAPL": entry, "MSFT": trade(T_MSFT, 10.0)}}
    expect_trades(httpserver, "AAPL,MSFT").respond_with_json(body)

    result = provider.get_quotes(["AAPL", "MSFT"], now=0)

    assert [q.symbol for q in result.quotes] == ["MSFT"]
    assert result.failed == {"AAPL": f"alpaca: {reason}"}


def test_nan_literal_in_body_fails_that_symbol(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    raw = '{"trades": {"AAPL": {"t": "' + T_AAPL + '", "p": NaN, "s": 1}}}'
    expect_trades(httpserver, "AAPL").respond_with_data(raw, content_type="application/json")

    result = provider.get_quotes(["AAPL"], now=0)

    assert result.quotes == []
    assert "bad price nan" in result.failed["AAPL"]


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_are_a_permanent_error(
    httpserver: HTTPServer, provider: AlpacaProvider, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(TRADES_PATH).respond_with_json(
        {"message": "forbidden"}, status=status
    )

    with pytest.raises(
        ProviderError, match=rf"^alpaca: credentials rejected \({status}\)$"
    ) as caught:
        provider.get_quotes(["AAPL"], now=0)

    assert not isinstance(caught.value, ProviderUnavailableError)
    assert SECRET not in str(caught.value) + caplog.text + repr(provider)


def test_rate_limit_with_retry_after_seconds(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    httpserver.expect_request(TRADES_PATH).respond_with_data(
        "", status=429, headers={"Retry-After": "7"}
    )

    with pytest.raises(ProviderUnavailableError, match="rate limited") as caught:
        provider.get_quotes(["AAPL"], now=0)

    assert caught.value.retry_after == 7.0


def test_rate_limit_with_retry_after_http_date(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    later = format_datetime(
        datetime.fromtimestamp(datetime.now(UTC).timestamp() + 30, UTC), usegmt=True
    )
    httpserver.expect_request(TRADES_PATH).respond_with_data(
        "", status=429, headers={"Retry-After": later}
    )

    with pytest.raises(ProviderUnavailableError) as caught:
        provider.get_quotes(["AAPL"], now=0)

    assert caught.value.retry_after == pytest.approx(30, abs=2)


def test_rate_limit_without_retry_after(httpserver: HTTPServer, provider: AlpacaProvider) -> None:
    httpserver.expect_request(TRADES_PATH).respond_with_data("", status=429)

    with pytest.raises(ProviderUnavailableError) as caught:
        provider.get_quotes(["AAPL"], now=0)

    assert caught.value.retry_after is None


def test_server_error_is_temporary(httpserver: HTTPServer, provider: AlpacaProvider) -> None:
    httpserver.expect_request(TRADES_PATH).respond_with_data("oops", status=500)

    with pytest.raises(ProviderUnavailableError, match=r"^alpaca: server error \(500\)$"):
        provider.get_quotes(["AAPL"], now=0)


def test_bad_request_quotes_the_vendor_message(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    httpserver.expect_request(TRADES_PATH).respond_with_json(
        {"message": "invalid feed"}, status=400
    )

    with pytest.raises(ProviderError, match=r"^alpaca: request rejected \(400\): invalid feed$"):
        provider.get_quotes(["AAPL"], now=0)


def test_timeout_is_temporary(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TRADES_PATH).respond_with_handler(slow_handler())
    alpaca = AlpacaProvider(httpserver.url_for(""), KEY, SECRET, timeout=SHORT_TIMEOUT)

    with pytest.raises(ProviderUnavailableError, match=r"^alpaca: request timed out") as caught:
        alpaca.get_quotes(["AAPL"], now=0)

    assert SECRET not in str(caught.value)
    alpaca.close()
    wait_until_answered(httpserver)


def test_connection_refused_is_temporary() -> None:
    alpaca = AlpacaProvider(closed_port_url(), KEY, SECRET, timeout=0.5)

    with pytest.raises(ProviderUnavailableError, match=r"^alpaca: cannot reach the server"):
        alpaca.get_quotes(["AAPL"], now=0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>maintenance</html>", "alpaca: response is not JSON"),
        ('{"bars": {}}', "alpaca: unexpected response, no 'trades' object"),
        ("[1, 2]", "alpaca: unexpected response, no 'trades' object"),
    ],
)
def test_garbage_body_fails_the_batch(
    httpserver: HTTPServer, provider: AlpacaProvider, body: str, message: str
) -> None:
    httpserver.expect_request(TRADES_PATH).respond_with_data(body, content_type="application/json")

    with pytest.raises(ProviderError, match=f"^{message}$"):
        provider.get_quotes(["AAPL"], now=0)


def test_large_watchlists_are_split_into_batches(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    httpserver.expect_request(TRADES_PATH).respond_with_json({"trades": {}})
    symbols = [f"S{i}" for i in range(450)]

    result = provider.get_quotes(symbols, now=0)

    assert len(httpserver.log) == 3
    assert [len(req.args["symbols"].split(",")) for req, _ in httpserver.log] == [200, 200, 50]
    assert len(result.failed) == 450


def test_injected_client_is_used_and_not_closed(httpserver: HTTPServer) -> None:
    httpserver.expect_request(TRADES_PATH).respond_with_json(
        {"trades": {"AAPL": trade(T_AAPL, 1.0)}}
    )
    client = httpx.Client()
    alpaca = AlpacaProvider(httpserver.url_for("/"), KEY, SECRET, client=client)

    assert len(alpaca.get_quotes(["AAPL"], now=0).quotes) == 1
    alpaca.close()
    assert not client.is_closed
    client.close()
