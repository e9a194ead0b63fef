"""The mock provider's history: the same price path as its live quotes, cheap, deterministic."""

from __future__ import annotations

import statistics
import time

import pytest

from wagehood.bars import BarAggregator
from wagehood.providers.base import BarSource, Provider
from wagehood.providers.mock import HORIZON, MAX_BARS, REFERENCE_TIME, MockProvider, symbol_model
from wagehood.types import Bar, Timeframe

NOW = REFERENCE_TIME + 300 * 86400 + 5 * 3600 + 17.4  # late October 2024, mid-minute
LIVE_TIMEFRAMES = [Timeframe.M1, Timeframe.M5, Timeframe.H1]


def history(timeframe: Timeframe, count: int, symbol: str = "AAPL", seed: int = 42) -> list[Bar]:
    end = timeframe.floor(NOW)
    result = MockProvider(seed).get_bars([symbol], timeframe, end - count * timeframe.seconds, end)
    return list(result.bars[symbol])


def test_mock_satisfies_both_ports() -> None:
    assert isinstance(MockProvider(1), BarSource)
    assert isinstance(MockProvider(1), Provider)


@pytest.mark.parametrize("timeframe", list(Timeframe))
def test_bars_open_and_close_on_the_quotes_of_their_first_and_last_second(
    timeframe: Timeframe,
) -> None:
    mock = MockProvider(42)
    bars = history(timeframe, 40)

    assert [b.open for b in bars] == [mock.quote_at("AAPL", b.time).price for b in bars]
    assert [b.close for b in bars] == [
        mock.quote_at("AAPL", b.time + timeframe.seconds - 1).price for b in bars
    ]


@pytest.mark.parametrize("timeframe", list(Timeframe))
def test_bars_are_closed_contiguous_ascending_and_well_formed(timeframe: Timeframe) -> None:
    bars = history(timeframe, 300)
    end = timeframe.floor(NOW)

    assert [b.time for b in bars] == list(
        range(end - 300 * timeframe.seconds, end, timeframe.seconds)
    )
    assert all(b.closed and b.timeframe is timeframe and b.symbol == "AAPL" for b in bars)
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)
    assert all(b.volume > 0 and b.volume == int(b.volume) for b in bars)


def test_history_joins_live_quotes_seamlessly() -> None:
    # The last historical close is the quote of the second before the first live tick.
    mock = MockProvider(42)
    end = Timeframe.M1.floor(NOW)
    last = history(Timeframe.M1, 5)[-1]
    first_live = mock.get_quotes(["AAPL"], end).quotes[0]

    assert last.time + 60 == end == first_live.time
    assert last.close == mock.quote_at("AAPL", end - 1).price
    assert first_live.price == mock.quote_at("AAPL", end).price


def test_a_one_minute_bar_matches_the_bar_live_polling_builds_except_unsampled_extremes() -> None:
    mock = MockProvider(42)
    start = Timeframe.M1.floor(NOW) - 60
    aggregator = BarAggregator("AAPL", Timeframe.M1)
    for second in range(start, start + 61):
        live = aggregator.on_quote(mock.quote_at("AAPL", second))
    stored = history(Timeframe.M1, 1)[0]

    assert live is not None
    assert (stored.time, stored.open, stored.close) == (live.time, live.open, live.close)
    assert live.low <= stored.low <= stored.high <= live.high


def test_opens_and_closes_agree_across_timeframes() -> None:
    minutes = history(Timeframe.M1, 60)
    hour = Timeframe.H1.floor(NOW) - 3600
    hourly = MockProvider(42).get_bars(["AAPL"], Timeframe.H1, hour, hour + 3600).bars["AAPL"]
    in_hour = [b for b in history(Timeframe.M1, 120) if hour <= b.time < hour + 3600]

    assert len(minutes) == 60
    assert hourly[0].open == in_hour[0].open
    assert hourly[0].close == in_hour[-1].close


def test_values_do_not_depend_on_range_instance_or_order_of_calls() -> None:
    whole = history(Timeframe.M5, 200)
    used = MockProvider(42)
    used.get_quotes(["AAPL", "SPY"], NOW)
    used.get_bars(["SPY"], Timeframe.M5, whole[0].time, whole[-1].time)
    part = used.get_bars(["AAPL"], Timeframe.M5, whole[50].time - 7, whole[120].time).bars["AAPL"]

    assert list(part) == whole[50:120]
    assert history(Timeframe.M5, 200, seed=43) != whole


def test_range_bounds_are_bar_open_times_start_inclusive_end_exclusive() -> None:
    mock = MockProvider(42)
    hour = Timeframe.H1.floor(NOW)

    assert [b.time for b in mock.get_bars(["X"], Timeframe.H1, hour - 7200, hour).bars["X"]] == [
        hour - 7200,
        hour - 3600,
    ]
    assert mock.get_bars(["X"], Timeframe.H1, hour - 7199, hour).bars["X"][0].time == hour - 3600
    assert mock.get_bars(["X"], Timeframe.H1, hour, hour).bars == {"X": []}


def test_invalid_symbols_fail_and_the_others_are_served_canonical() -> None:
    end = Timeframe.M1.floor(NOW)
    result = MockProvider(42).get_bars(["brk.b", "not a symbol"], Timeframe.M1, end - 600, end)

    assert list(result.bars) == ["BRK.B"]
    assert len(result.bars["BRK.B"]) == 10
    assert "not a symbol" in result.failed


def test_bars_outside_the_simulated_years_are_left_out() -> None:
    edge = REFERENCE_TIME + HORIZON
    end = edge + 10 * 86400
    bars = MockProvider(42).get_bars(["AAPL"], Timeframe.D1, edge - 3 * 86400, end).bars["AAPL"]

    assert 0 < len(bars) <= 3
    assert all(b.time + 86400 <= edge + 1 for b in bars)


def test_history_spans_the_reference_time() -> None:
    mock = MockProvider(42)
    bars = mock.get_bars(["AAPL"], Timeframe.M1, REFERENCE_TIME - 600, REFERENCE_TIME + 600)

    assert [b.open for b in bars.bars["AAPL"]] == [
        mock.quote_at("AAPL", t).price
        for t in range(REFERENCE_TIME - 600, REFERENCE_TIME + 600, 60)
    ]


def test_bar_volume_averages_the_symbols_rate_times_the_bar_length() -> None:
    bars = history(Timeframe.M5, 2000)
    expected = symbol_model(42, "AAPL").volume_scale * 300

    assert statistics.fmean(b.volume for b in bars) == pytest.approx(expected, rel=0.05)


def test_cost_of_history_is_measured() -> None:
    mock = MockProvider(42)
    started = time.perf_counter()
    for timeframe in LIVE_TIMEFRAMES:
        end = timeframe.floor(NOW)
        assert (
            len(mock.get_bars(["AAPL"], timeframe, end - 500 * timeframe.seconds, end).bars["AAPL"])
            == 500
        )
    one_symbol = time.perf_counter() - started
    symbols = [f"S{i}" for i in range(1000)]
    started = time.perf_counter()
    end = Timeframe.M1.floor(NOW)
    many = mock.get_bars(symbols, Timeframe.M1, end - 20 * 60, end)
    thousand = time.perf_counter() - started

    print(
        f"\nmock history: 3 x 500 bars in {one_symbol * 1000:.0f} ms; 1,000 symbols x 20 1m bars in {thousand:.2f} s"
    )
    assert all(len(many.bars[s]) == 20 for s in symbols)
    assert one_symbol < 3.0  # generous: shared machine; measured ~0.2 s unloaded
    assert thousand < 30.0


def test_a_huge_range_returns_the_newest_max_bars() -> None:
    end = Timeframe.M1.floor(NOW)

    bars = MockProvider(42).get_bars(["AAPL"], Timeframe.M1, 0, end).bars["AAPL"]

    assert len(bars) == MAX_BARS
    assert bars[-1].time == end - 60
