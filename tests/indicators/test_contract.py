"""The contract every registered indicator keeps (STYLE.md section 10).

Matches TA-Lib (or the numpy VWAP reference) on long and short series; exactly ``warmup``
``None``s then values; a ``to_state``/``from_state`` round trip mid-stream continues
identically; a revised bar applied and then undone (restored) leaves no trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.indicators.conftest import (
    Arrays,
    assert_matches_reference,
    bar_arrays,
    bars_from_closes,
)
from wagehood.indicators.base import Indicator
from wagehood.indicators.registry import INDICATORS, build
from wagehood.types import Bar

SPECS: dict[str, tuple[str, ...]] = {
    "sma": ("sma(20)", "sma(2)", "sma(1)"),
    "ema": ("ema(12)", "ema(2)", "ema(1)"),
    "rsi": ("rsi(14)", "rsi(2)"),
    "macd": ("macd(12,26,9)", "macd(5,35,5)", "macd(2,3,1)"),
    "bbands": ("bbands(20,2.0)", "bbands(5,1.0)", "bbands(50,2.5)"),
    "atr": ("atr(14)", "atr(1)"),
    "stoch": ("stoch(14,3,3)", "stoch(5,1,1)", "stoch(9,3,5)"),
    "obv": ("obv",),
    "vwap": ("vwap",),
}
ALL_SPECS = [spec for specs in SPECS.values() for spec in specs]
FIRST_SPECS = [specs[0] for specs in SPECS.values()]

prices = st.floats(min_value=100.0, max_value=800.0, allow_nan=False, allow_infinity=False)
series = st.lists(prices, max_size=120)
bounded = settings(max_examples=30, deadline=None)


def feed(indicator: Indicator, bars: Sequence[Bar]) -> list[Any]:
    """Feed each bar (or its close, per ``source``) and collect the results."""
    if indicator.source == "bar":
        return [indicator.update(bar) for bar in bars]
    return [indicator.update(bar.close) for bar in bars]


def input_of(indicator: Indicator, bar: Bar) -> Any:
    """Return what ``indicator.update`` takes from ``bar``."""
    return bar if indicator.source == "bar" else bar.close


def test_every_registered_kind_is_in_the_contract_suite() -> None:
    assert set(SPECS) == set(INDICATORS)


@pytest.mark.parametrize("series_name", ["random_walk", "trending"])
@pytest.mark.parametrize("spec", ALL_SPECS)
def test_matches_reference_on_100k_bars(
    spec: str, series_name: str, long_series: dict[str, tuple[Arrays, list[Bar]]]
) -> None:
    arrays, bars = long_series[series_name]

    results = feed(build(spec), bars)

    assert_matches_reference(spec, results, arrays)


@pytest.mark.parametrize("length", [0, 1, 2, 3, 10, 33, 34, 35, 60])
@pytest.mark.parametrize("spec", ALL_SPECS)
def test_matches_reference_on_short_series(spec: str, length: int) -> None:
    bars = bars_from_closes([300.0 + (i * 37 % 11) - (i % 3) * 0.5 for i in range(length)])

    results = feed(build(spec), bars)

    assert_matches_reference(spec, results, bar_arrays(bars))


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_matches_reference_on_flat_series(spec: str) -> None:
    bars = bars_from_closes([250.0] * 80)

    results = feed(build(spec), bars)

    assert_matches_reference(spec, results, bar_arrays(bars))


@pytest.mark.parametrize("spec", FIRST_SPECS)
@bounded
@given(closes=series)
def test_matches_reference_on_random_series(spec: str, closes: list[float]) -> None:
    bars = bars_from_closes(closes)

    results = feed(build(spec), bars)

    assert_matches_reference(spec, results, bar_arrays(bars))


@pytest.mark.parametrize("spec", ALL_SPECS)
@bounded
@given(closes=series)
def test_exactly_warmup_nones_then_values(spec: str, closes: list[float]) -> None:
    indicator = build(spec)

    results = feed(indicator, bars_from_closes(closes))

    warmup = min(indicator.warmup, len(results))
    assert all(value is None for value in results[:warmup])
    assert all(value is not None for value in results[warmup:])
    assert indicator.ready == (len(results) > indicator.warmup)


@pytest.mark.parametrize("spec", FIRST_SPECS)
@bounded
@given(closes=series, data=st.data())
def test_state_round_trip_mid_stream_continues_identically(
    spec: str, closes: list[float], data: st.DataObject
) -> None:
    bars = bars_from_closes(closes)
    cut = data.draw(st.integers(min_value=0, max_value=len(bars)), label="cut")
    whole = feed(build(spec), bars)
    first = build(spec)

    head = feed(first, bars[:cut])
    restored = type(first).from_state(first.to_state())
    tail = feed(restored, bars[cut:])

    assert head + tail == whole
    assert restored.to_state() == build_and_feed(spec, bars).to_state()


def build_and_feed(spec: str, bars: Sequence[Bar]) -> Indicator:
    """Return a fresh indicator for ``spec`` after feeding it ``bars``."""
    indicator = build(spec)
    feed(indicator, bars)
    return indicator


@pytest.mark.parametrize("spec", FIRST_SPECS)
@bounded
@given(closes=st.lists(prices, min_size=1, max_size=120), revised=prices)
def test_amending_a_revised_bar_then_restoring_equals_update_alone(
    spec: str, closes: list[float], revised: float
) -> None:
    bars = bars_from_closes(closes)
    *history, last = bars
    draft = bars_from_closes([*closes[:-1], revised])[-1]
    plain, amended = build_and_feed(spec, history), build_and_feed(spec, history)
    before = amended.to_state()

    amended.update(input_of(amended, draft))
    restored = type(amended).from_state(before)

    assert restored.update(input_of(restored, last)) == plain.update(input_of(plain, last))
    assert restored.to_state() == plain.to_state()


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_state_is_flat_strings_with_a_version(spec: str) -> None:
    indicator = build_and_feed(spec, bars_from_closes([300.0 + i % 7 for i in range(70)]))

    state = indicator.to_state()

    assert state["v"] == "1"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in state.items())


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_from_state_rejects_unknown_version(spec: str) -> None:
    state = build(spec).to_state() | {"v": "999"}

    with pytest.raises(ValueError, match="version"):
        type(build(spec)).from_state(state)


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_repr_is_stable_across_state_round_trip(spec: str) -> None:
    indicator = build(spec)

    assert repr(type(indicator).from_state(indicator.to_state())) == repr(indicator)
