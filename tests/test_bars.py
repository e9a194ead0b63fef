"""Tick-to-bar aggregation: UTC-aligned boundaries, the late/duplicate rule, exact state."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wagehood.bars import BarAggregator, resample
from wagehood.types import Bar, Quote, Timeframe

T0 = 1_717_200_000  # 2024-06-01T00:00:00Z


def q(t: float, price: float, volume: float = 1.0) -> Quote:
    return Quote("AAPL", t, price, volume)


def test_ticks_in_one_minute_build_one_bar_closed_by_the_next_minute() -> None:
    agg = BarAggregator("AAPL", Timeframe.M1)
    assert agg.on_quote(q(T0 + 1, 10.0, 5)) is None
    assert agg.on_quote(q(T0 + 20, 12.0, 1)) is None
    assert agg.on_quote(q(T0 + 40, 9.0, 2)) is None
    assert agg.on_quote(q(T0 + 59, 11.0, 3)) is None
    closed = agg.on_quote(q(T0 + 61, 11.5))
    assert closed == Bar("AAPL", Timeframe.M1, T0, 10.0, 12.0, 9.0, 11.0, 11.0, closed=True)
    assert agg.current is not None
    assert agg.current.time == T0 + 60
    assert not agg.current.closed


def test_bars_align_to_utc_boundaries_of_their_timeframe() -> None:
    agg = BarAggregator("AAPL", Timeframe.H1)
    agg.on_quote(q(T0 + 3599, 1.0))
    closed = agg.on_quote(q(T0 + 3600, 2.0))
    assert closed is not None
    assert closed.time == T0
    assert agg.current is not None
    assert agg.current.time == T0 + 3600
    assert Timeframe.D1.floor(T0 + 86399) == T0


def test_duplicate_and_late_ticks_are_ignored_and_counted() -> None:
    agg = BarAggregator("AAPL", Timeframe.M1)
    agg.on_quote(q(T0 + 10, 10.0, 1))
    agg.on_quote(q(T0 + 10, 99.0, 1))  # duplicate time
    agg.on_quote(q(T0 + 5, 1.0, 1))  # late
    assert agg.current == Bar("AAPL", Timeframe.M1, T0, 10.0, 10.0, 10.0, 10.0, 1.0, closed=False)
    assert agg.ignored == 2


def test_a_gap_invents_no_bar() -> None:
    agg = BarAggregator("AAPL", Timeframe.M1)
    agg.on_quote(q(T0, 1.0))
    closed = agg.on_quote(q(T0 + 600, 2.0))
    assert closed is not None
    assert closed.time == T0
    assert agg.current is not None
    assert agg.current.time == T0 + 600


def test_close_due_closes_a_quiet_bar_once() -> None:
    agg = BarAggregator("AAPL", Timeframe.M1)
    agg.on_quote(q(T0 + 3, 1.0))
    assert agg.close_due(T0 + 59) is None
    closed = agg.close_due(T0 + 60)
    assert closed is not None
    assert closed.closed
    assert closed.time == T0
    assert agg.close_due(T0 + 120) is None


@given(
    st.lists(st.tuples(st.integers(0, 7200), st.floats(1, 1000), st.floats(0, 1000)), max_size=60),
    st.integers(0, 60),
)
def test_state_round_trip_continues_identically(
    ticks: list[tuple[int, float, float]], cut: int
) -> None:
    quotes = [q(T0 + t, p, v) for t, p, v in ticks]
    whole = BarAggregator("AAPL", Timeframe.M5)
    expected = [whole.on_quote(x) for x in quotes]
    first = BarAggregator("AAPL", Timeframe.M5)
    got = [first.on_quote(x) for x in quotes[:cut]]
    second = BarAggregator.from_state("AAPL", Timeframe.M5, first.to_state())
    got += [second.on_quote(x) for x in quotes[cut:]]
    assert got == expected
    assert second.to_state() == whole.to_state()


def test_resample_merges_rows_of_one_bar_and_passes_bars_at_the_timeframe() -> None:
    rows = [
        (3600, 10.0, 12.0, 9.0, 11.0, 5.0),
        (5400, 11.0, 15.0, 10.5, 14.0, 7.0),  # same 1h bar, later
        (7200, 14.0, 14.5, 13.0, 13.5, 1.0),
    ]

    bars = resample("X", Timeframe.H1, rows)

    assert bars == [
        Bar("X", Timeframe.H1, 3600, 10.0, 15.0, 9.0, 14.0, 12.0),
        Bar("X", Timeframe.H1, 7200, 14.0, 14.5, 13.0, 13.5, 1.0),
    ]
    assert resample("X", Timeframe.H4, rows) == [
        Bar("X", Timeframe.H4, 0, 10.0, 15.0, 9.0, 13.5, 13.0)
    ]
    assert resample("X", Timeframe.H1, []) == []
