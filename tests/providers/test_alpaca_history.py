"""Alpaca historical bars against a local server speaking the documented format."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from tests.providers.fakes import SHORT_TIMEOUT
from wagehood.errors import ProviderError, ProviderUnavailableError
from wagehood.providers.alpaca import BARS_PATH, AlpacaProvider
from wagehood.providers.base import BarSource
from wagehood.types import Bar, Timeframe

KEY, SECRET = "PKTESTKEY", "s3cr3t-never-shown"
HEADERS = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}
START = int(datetime(2024, 1, 3, 14, 30, tzinfo=UTC).timestamp())
END = START + 5 * 60


def iso(time: int) -> str:
    return datetime.fromtimestamp(time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bar(time: int, close: float, volume: int = 100) -> dict[str, object]:
    """A bar as Alpaca sends it."""
    return {
        "t": iso(time),
        "o": close - 0.5,
        "h": close + 1.0,
        "l": close - 1.0,
        "c": close,
        "v": volume,
        "n": 12,
        "vw": close - 0.1,
    }


def expected(symbol: str, time: int, close: float, volume: float = 100.0) -> Bar:
    return Bar(symbol, Timeframe.M1, time, close - 0.5, close + 1.0, close - 1.0, close, volume)


def query(symbols: str, page_token: str | None = None) -> dict[str, str]:
    args = {
        "symbols": symbols,
        "timeframe": "1Min",
        "start": iso(START),
        "end": iso(END),
        "limit": "10000",
        "feed": "iex",
    }
    return args if page_token is None else {**args, "page_token": page_token}


@pytest.fixture
def provider(httpserver: HTTPServer) -> Iterator[AlpacaProvider]:
    alpaca = AlpacaProvider(httpserver.url_for(""), KEY, SECRET, feed="iex", timeout=SHORT_TIMEOUT)
    yield alpaca
    alpaca.close()


def test_alpaca_satisfies_the_history_port() -> None:
    assert isinstance(AlpacaProvider("http://x", KEY, SECRET), BarSource)


def test_bars_of_many_symbols_follow_pages_that_end_mid_symbol(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    pages = [
        ({"AAPL": [bar(START, 10.0), bar(START + 60, 11.0)]}, "page-2"),
        ({"AAPL": [bar(START + 120, 12.0)], "MSFT": [bar(START, 20.0)]}, "page-3"),
        ({"MSFT": [bar(START + 240, 21.0)]}, None),
    ]
    tokens = [None, "page-2", "page-3"]
    for token, (bars, next_token) in zip(tokens, pages, strict=True):
        httpserver.expect_ordered_request(
            BARS_PATH, query_string=query("AAPL,MSFT", token), headers=HEADERS
        ).respond_with_json({"bars": bars, "next_page_token": next_token})

    result = provider.get_bars(["AAPL", "msft"], Timeframe.M1, START, END)

    assert result.bars == {
        "AAPL": [
            expected("AAPL", START, 10.0),
            expected("AAPL", START + 60, 11.0),
            expected("AAPL", START + 120, 12.0),
        ],
        "MSFT": [expected("MSFT", START, 20.0), expected("MSFT", START + 240, 21.0)],
    }
    assert result.failed == {}
    httpserver.check_assertions()


def test_bars_outside_the_range_are_dropped_and_timeframes_map(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    httpserver.expect_request(BARS_PATH).respond_with_json(
        {
            "bars": {"SPY": [bar(START - 3600, 1.5), bar(START, 2.0), bar(END, 3.0)]},
            "next_page_token": None,
        }
    )

    bars = provider.get_bars(["SPY"], Timeframe.H1, START - 1800, END).bars["SPY"]

    assert [b.time for b in bars] == [START - 1800]  # 14:30 floors to the 14:00 bar
    assert [req.args["timeframe"] for req, _ in httpserver.log] == ["1Hour"]


def test_empty_range_and_unknown_symbols_give_no_bars(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    httpserver.expect_request(BARS_PATH).respond_with_json({"bars": {}, "next_page_token": None})

    result = provider.get_bars(["SPY", "ZZZZ", "bad symbol!"], Timeframe.M1, START, END)

    assert result.bars == {"SPY": [], "ZZZZ": []}
    assert list(result.failed) == ["bad symbol!"]


def test_null_bars_mean_no_bars(httpserver: HTTPServer, provider: AlpacaProvider) -> None:
    httpserver.expect_request(BARS_PATH).respond_with_json({"bars": None, "next_page_token": None})

    assert provider.get_bars(["SPY"], Timeframe.M1, START, END).bars == {"SPY": []}


def test_an_empty_range_makes_no_request(httpserver: HTTPServer, provider: AlpacaProvider) -> None:
    assert provider.get_bars(["SPY"], Timeframe.M1, END, START).bars == {"SPY": []}
    assert httpserver.log == []


def test_a_garbage_bar_fails_only_its_symbol(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    bad = {**bar(START, 1.0), "c": None}
    httpserver.expect_request(BARS_PATH).respond_with_json(
        {"bars": {"SPY": [bar(START, 5.0)], "QQQ": [bad]}, "next_page_token": None}
    )

    result = provider.get_bars(["SPY", "QQQ"], Timeframe.M1, START, END)

    assert result.bars == {"SPY": [expected("SPY", START, 5.0)]}
    assert result.failed["QQQ"].startswith("alpaca: bad bar prices")


def test_invalid_symbol_rejection_fails_the_batch(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    httpserver.expect_request(BARS_PATH).respond_with_json(
        {"code": 42210000, "message": "invalid symbol: ^VIX"}, status=422
    )

    result = provider.get_bars(["SPY", "^VIX"], Timeframe.M1, START, END)

    assert result.bars == {}
    assert result.failed == dict.fromkeys(
        ("SPY", "^VIX"), "alpaca: request rejected (422): invalid symbol: ^VIX"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>maintenance</html>", "alpaca: response is not JSON"),
        ('{"trades": {}}', "alpaca: unexpected response, no 'bars' object"),
        ('{"bars": {"SPY": 3}}', "alpaca: unexpected response, 'bars' is not lists by symbol"),
        ('{"bars": {}, "next_page_token": 7}', "alpaca: unexpected next_page_token 7"),
    ],
)
def test_garbage_body_is_a_permanent_error(
    httpserver: HTTPServer, provider: AlpacaProvider, body: str, message: str
) -> None:
    httpserver.expect_request(BARS_PATH).respond_with_data(body, content_type="application/json")

    with pytest.raises(ProviderError, match=f"^{message}$"):
        provider.get_bars(["SPY"], Timeframe.M1, START, END)


def test_a_repeating_page_token_stops_the_loop(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    httpserver.expect_request(BARS_PATH).respond_with_json(
        {"bars": {"SPY": [bar(START, 5.0)]}, "next_page_token": "same"}
    )

    with pytest.raises(ProviderError, match="pagination does not end"):
        provider.get_bars(["SPY"], Timeframe.M1, START, END)
    assert len(httpserver.log) == 2


def test_rate_limit_mid_pagination_is_temporary_with_retry_after(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    httpserver.expect_ordered_request(BARS_PATH).respond_with_json(
        {"bars": {"SPY": [bar(START, 5.0)]}, "next_page_token": "p2"}
    )
    httpserver.expect_ordered_request(BARS_PATH).respond_with_data(
        '{"message": "too many requests."}', status=429, headers={"Retry-After": "3"}
    )

    with pytest.raises(ProviderUnavailableError) as caught:
        provider.get_bars(["SPY"], Timeframe.M1, START, END)

    assert caught.value.retry_after == 3.0


def test_rejected_credentials_are_permanent(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    httpserver.expect_request(BARS_PATH).respond_with_json({"message": "forbidden."}, status=403)

    with pytest.raises(ProviderError, match=r"credentials rejected \(403\)"):
        provider.get_bars(["SPY"], Timeframe.M1, START, END)


def test_large_watchlists_are_split_into_batches(
    httpserver: HTTPServer, provider: AlpacaProvider
) -> None:
    httpserver.expect_request(BARS_PATH).respond_with_json({"bars": {}, "next_page_token": None})

    provider.get_bars([f"S{i}" for i in range(450)], Timeframe.D1, START, END)

    assert [len(req.args["symbols"].split(",")) for req, _ in httpserver.log] == [200, 200, 50]
    assert {req.args["timeframe"] for req, _ in httpserver.log} == {"1Day"}
