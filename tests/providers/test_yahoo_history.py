"""Yahoo chart API history against a local server speaking the documented format."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from pytest_httpserver import HTTPServer

from tests.providers.fakes import SHORT_TIMEOUT
from wagehood.errors import ProviderUnavailableError
from wagehood.providers.base import BarSource
from wagehood.providers.yahoo import YahooProvider
from wagehood.types import Bar, Timeframe

DAY = 86400
NOW = 1_732_550_400 + 15 * 3600 + 610  # 2024-11-25 15:10:10 UTC, a Monday
MINUTE = Timeframe.M1.floor(NOW)
NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}
OUT_OF_REACH = {
    "chart": {
        "result": None,
        "error": {
            "code": "Unprocessable Entity",
            "description": "1m data not available for startTime=1. The requested range must be within the last 30 days.",
        },
    }
}


def chart(
    symbol: str,
    times: Sequence[int],
    closes: Sequence[float | None],
    volumes: Sequence[int | None] | None = None,
    granularity: str = "1m",
) -> dict[str, object]:
    """A chart response as Yahoo sends it: meta, timestamp[] and indicators.quote[0]."""
    opens = [None if c is None else c - 0.5 for c in closes]
    quote = {
        "open": opens,
        "high": [None if c is None else c + 1.0 for c in closes],
        "low": [None if c is None else c - 1.0 for c in closes],
        "close": list(closes),
        "volume": list(volumes) if volumes is not None else [100] * len(times),
    }
    meta = {"symbol": symbol, "currency": "USD", "dataGranularity": granularity}
    result = {"meta": meta, "timestamp": list(times), "indicators": {"quote": [quote]}}
    return {"chart": {"result": [result], "error": None}}


def empty_chart(symbol: str) -> dict[str, object]:
    """What Yahoo answers for a range without trading: no timestamp, an empty quote."""
    result = {"meta": {"symbol": symbol}, "indicators": {"quote": [{}]}}
    return {"chart": {"result": [result], "error": None}}


@pytest.fixture
def provider(httpserver: HTTPServer) -> Iterator[YahooProvider]:
    yahoo = YahooProvider(httpserver.url_for(""), timeout=SHORT_TIMEOUT, clock=lambda: NOW)
    yield yahoo
    yahoo.close()


def requested(httpserver: HTTPServer) -> list[tuple[str, dict[str, str]]]:
    return [(req.path, dict(req.args)) for req, _ in httpserver.log]


def test_yahoo_satisfies_the_history_port() -> None:
    assert isinstance(YahooProvider("http://x"), BarSource)


def test_minute_bars_skip_null_holes_and_the_forming_minute(
    httpserver: HTTPServer, provider: YahooProvider
) -> None:
    times = [MINUTE - 240, MINUTE - 180, MINUTE - 120, MINUTE - 60, NOW - 10]
    body = chart("AAPL", times, [10.0, None, 12.0, 13.0, 14.0], [5, None, None, 7, 9])
    httpserver.expect_request("/v8/finance/chart/AAPL").respond_with_json(body)

    result = provider.get_bars(["AAPL"], Timeframe.M1, MINUTE - 300, MINUTE)

    assert result.bars["AAPL"] == [
        Bar("AAPL", Timeframe.M1, MINUTE - 240, 9.5, 11.0, 9.0, 10.0, 5.0),
        Bar("AAPL", Timeframe.M1, MINUTE - 120, 11.5, 13.0, 11.0, 12.0, 0.0),
        Bar("AAPL", Timeframe.M1, MINUTE - 60, 12.5, 14.0, 12.0, 13.0, 7.0),
    ]
    assert requested(httpserver) == [
        (
            "/v8/finance/chart/AAPL",
            {"interval": "1m", "period1": str(MINUTE - 300), "period2": str(MINUTE)},
        )
    ]


def test_minute_history_is_split_into_seven_day_requests(
    httpserver: HTTPServer, provider: YahooProvider
) -> None:
    start = MINUTE - 20 * DAY
    for first in (start, start + 7 * DAY, start + 14 * DAY):
        httpserver.expect_ordered_request(
            "/v8/finance/chart/SPY",
            query_string={
                "interval": "1m",
                "period1": str(first),
                "period2": str(min(first + 7 * DAY, MINUTE)),
            },
        ).respond_with_json(chart("SPY", [first, first + 60], [5.0, 6.0]))

    bars = provider.get_bars(["SPY"], Timeframe.M1, start, MINUTE).bars["SPY"]

    assert [b.time for b in bars] == [
        start,
        start + 60,
        start + 7 * DAY,
        start + 7 * DAY + 60,
        start + 14 * DAY,
        start + 14 * DAY + 60,
    ]
    assert len(httpserver.log) == 3
    httpserver.check_assertions()


def test_requests_are_clamped_inside_yahoos_reach(
    httpserver: HTTPServer, provider: YahooProvider
) -> None:
    httpserver.expect_request("/v8/finance/chart/SPY").respond_with_json(empty_chart("SPY"))

    provider.get_bars(["SPY"], Timeframe.M5, MINUTE - 400 * DAY, MINUTE)
    provider.get_bars(["SPY"], Timeframe.H1, MINUTE - 4000 * DAY, MINUTE)

    asked = [args for _, args in requested(httpserver)]
    assert [(a["interval"], int(a["period1"])) for a in asked] == [
        ("5m", int(NOW) - 59 * DAY),
        ("60m", int(NOW) - 729 * DAY),
    ]


def test_four_hour_bars_merge_hourly_bars_that_start_on_the_half_hour(
    httpserver: HTTPServer, provider: YahooProvider
) -> None:
    day = NOW - NOW % DAY  # 2024-11-25 00:00 UTC
    times = [day + 14 * 3600 + 1800, day + 15 * 3600 + 1800]  # forming: ends 16:30 > 15:10
    times = [day - DAY + h * 3600 + 1800 for h in range(14, 21)] + times
    closes = [float(c) for c in range(2, len(times) + 2)]
    httpserver.expect_request("/v8/finance/chart/SPY").respond_with_json(
        chart("SPY", times, closes, [10] * len(times), "60m")
    )

    bars = provider.get_bars(["SPY"], Timeframe.H4, day - DAY, Timeframe.H4.floor(NOW)).bars["SPY"]

    # Yesterday 12:00 holds 14:30 and 15:30; 16:00 holds 16:30-19:30; 20:00 holds 20:30.
    # Today's 12:00 bar holds a forming hour: it is not returned.
    assert [(b.time - day + DAY, b.open, b.close, b.volume) for b in bars] == [
        (12 * 3600, 1.5, 3.0, 20.0),
        (16 * 3600, 3.5, 7.0, 40.0),
        (20 * 3600, 7.5, 8.0, 10.0),
    ]
    assert requested(httpserver)[0][1]["interval"] == "60m"


def test_daily_bars_are_labelled_at_midnight_and_today_is_left_out(
    httpserver: HTTPServer, provider: YahooProvider
) -> None:
    day = NOW - NOW % DAY
    times = [day - 2 * DAY + 52200, day - DAY + 52200, day + 52200 - 3600]
    httpserver.expect_request("/v8/finance/chart/SPY").respond_with_json(
        chart("SPY", times, [5.0, 6.0, 7.0], granularity="1d")
    )

    bars = provider.get_bars(["SPY"], Timeframe.D1, 0, day + DAY).bars["SPY"]

    assert [b.time for b in bars] == [day - 2 * DAY, day - DAY]


def test_empty_range_gives_no_bars_and_no_failure(
    httpserver: HTTPServer, provider: YahooProvider
) -> None:
    httpserver.expect_request("/v8/finance/chart/SPY").respond_with_json(empty_chart("SPY"))

    result = provider.get_bars(["SPY"], Timeframe.M1, MINUTE - 600, MINUTE)

    assert (result.bars, result.failed) == ({"SPY": []}, {})


def test_an_empty_or_inverted_range_makes_no_request(
    httpserver: HTTPServer, provider: YahooProvider
) -> None:
    result = provider.get_bars(["SPY"], Timeframe.M1, MINUTE, MINUTE - 600)

    assert result.bars == {"SPY": []}
    assert httpserver.log == []


def test_unknown_and_out_of_reach_symbols_fail_the_others_are_served(
    httpserver: HTTPServer, provider: YahooProvider
) -> None:
    httpserver.expect_request("/v8/finance/chart/ZZZZ").respond_with_json(NOT_FOUND, status=404)
    httpserver.expect_request("/v8/finance/chart/OLD").respond_with_json(OUT_OF_REACH, status=422)
    httpserver.expect_request("/v8/finance/chart/SPY").respond_with_json(
        chart("SPY", [MINUTE - 60], [5.0])
    )

    result = provider.get_bars(
        ["ZZZZ", "OLD", "spy", "bad symbol!"], Timeframe.M1, MINUTE - 60, MINUTE
    )

    assert [b.time for b in result.bars["SPY"]] == [MINUTE - 60]
    assert result.failed["ZZZZ"] == "yahoo: ZZZZ: Not Found: No data found, symbol may be delisted"
    assert result.failed["OLD"].startswith(
        "yahoo: OLD: rejected (422): Unprocessable Entity: 1m data"
    )
    assert "invalid symbol" in result.failed["bad symbol!"]


@pytest.mark.parametrize(
    "body",
    [
        "<html>blocked</html>",
        '{"chart": {"result": [{"timestamp": [1, 2], "indicators": {"quote": [{"close": [1.0]}]}}]}}',
        '{"chart": {"result": [], "error": null}}',
        '{"chart": {"result": null, "error": {"code": "Bad", "description": "broken"}}}',
    ],
)
def test_garbage_fails_that_symbol(
    httpserver: HTTPServer, provider: YahooProvider, body: str
) -> None:
    httpserver.expect_request("/v8/finance/chart/SPY").respond_with_data(
        body, content_type="application/json"
    )

    result = provider.get_bars(["SPY"], Timeframe.M1, MINUTE - 60, MINUTE)

    assert result.bars == {}
    assert result.failed["SPY"].startswith("yahoo: SPY: ")


def test_rate_limit_aborts_the_call_with_retry_after(
    httpserver: HTTPServer, provider: YahooProvider
) -> None:
    httpserver.expect_request("/v8/finance/chart/SPY").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "17"}
    )

    with pytest.raises(ProviderUnavailableError) as caught:
        provider.get_bars(["SPY"], Timeframe.M1, MINUTE - 60, MINUTE)

    assert caught.value.retry_after == 17.0


def test_server_error_aborts_the_call(httpserver: HTTPServer, provider: YahooProvider) -> None:
    httpserver.expect_request("/v8/finance/chart/SPY").respond_with_data("oops", status=502)

    with pytest.raises(ProviderUnavailableError, match="server error"):
        provider.get_bars(["SPY"], Timeframe.M1, MINUTE - 60, MINUTE)
