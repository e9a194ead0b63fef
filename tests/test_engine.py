"""The engine applies each closed bar once, in order, and round-trips its state exactly."""

from __future__ import annotations

import math

import pytest

from wagehood.engine import Engine, merge_specs, replay
from wagehood.errors import ValidationError
from wagehood.indicators.registry import DEFAULT_INDICATORS
from wagehood.strategies.registry import DEFAULT_STRATEGY_CONFIG, StrategySet
from wagehood.types import Bar, Timeframe

T0 = 1_717_200_000


def bars(n: int) -> list[Bar]:
    return [
        Bar("X", Timeframe.D1, T0 + i * 86400, p, p + 1, p - 1, p + 0.5, 1000 + i)
        for i, p in ((i, 100 + 10 * math.sin(i / 7) + i * 0.05) for i in range(n))
    ]


def test_a_bar_not_later_than_the_last_is_refused() -> None:
    engine = Engine.new("X", Timeframe.D1, DEFAULT_INDICATORS)
    series = bars(3)
    assert engine.apply(series[1]) is not None
    assert engine.apply(series[1]) is None
    assert engine.apply(series[0]) is None
    assert engine.bars_processed == 1
    assert engine.apply(series[2]) is not None
    assert engine.bars_processed == 2


def test_state_round_trip_mid_stream_continues_identically() -> None:
    series = bars(300)
    whole = Engine.new("X", Timeframe.D1, DEFAULT_INDICATORS)
    expected = [whole.apply(b) for b in series]
    first = Engine.new("X", Timeframe.D1, DEFAULT_INDICATORS)
    got = [first.apply(b) for b in series[:137]]
    second = Engine.from_state("X", Timeframe.D1, first.to_state())
    got += [second.apply(b) for b in series[137:]]
    assert got == expected
    assert second.to_state() == whole.to_state()


def test_merge_specs_adds_strategy_columns_and_refuses_conflicts() -> None:
    strategies = StrategySet(DEFAULT_STRATEGY_CONFIG)
    merged = merge_specs(DEFAULT_INDICATORS, strategies)
    assert merged["ema_200"] == "ema(200)"
    assert merged["rsi_21"] == "rsi(21)"
    with pytest.raises(ValidationError, match="ema_200"):
        merge_specs({**DEFAULT_INDICATORS, "ema_200": "sma(200)"}, strategies)


def test_replay_yields_one_row_per_new_bar_with_signals_from_closed_bars_only() -> None:
    series = bars(400)
    rows = list(
        replay(series + series[:5], DEFAULT_INDICATORS, StrategySet(DEFAULT_STRATEGY_CONFIG))
    )
    assert [r.snapshot.bar for r in rows] == series
    signalled = [s for r in rows for s in r.signals]
    assert signalled
    assert all(s.time == r.snapshot.bar.time for r in rows for s in r.signals)
