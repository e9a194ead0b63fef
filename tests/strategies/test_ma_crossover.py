"""MACrossoverStrategy: golden and death crosses of EMA(50) and EMA(200)."""

from __future__ import annotations

import pytest

from tests.strategies.factories import make_history, signals_over, unclosed, with_values
from wagehood.strategies.ma_crossover import MACrossoverStrategy
from wagehood.types import Side


def test_golden_cross_emits_buy_on_the_crossing_bar() -> None:
    history = make_history(2, closes=[100, 102], ema_50=[99.5, 100.5], ema_200=[100, 100.1])

    signal = MACrossoverStrategy().evaluate(history)

    assert signal is not None
    assert signal.side is Side.BUY
    assert signal.time == history[-1].bar.time
    assert signal.price == 102
    assert signal.strategy == "ma_crossover"
    assert 0.5 <= signal.confidence <= 1
    assert "Golden cross" in signal.reason
    assert signal.values == {"ema_50": 100.5, "ema_200": 100.1}


def test_death_cross_emits_sell() -> None:
    history = make_history(2, closes=[100, 97], ema_50=[100.5, 99.5], ema_200=[100, 99.9])

    signal = MACrossoverStrategy().evaluate(history)

    assert signal is not None
    assert signal.side is Side.SELL
    assert "Death cross" in signal.reason


def test_confidence_is_full_when_slow_ema_rises_and_close_is_two_percent_above() -> None:
    history = make_history(2, closes=[100, 102.3], ema_50=[99.9, 100.3], ema_200=[100, 100.2])

    signal = MACrossoverStrategy().evaluate(history)

    assert signal is not None
    assert signal.confidence == 1.0


def test_confidence_is_base_when_slow_ema_falls_and_close_is_below_it() -> None:
    history = make_history(2, closes=[100, 99], ema_50=[99.9, 100.05], ema_200=[100.1, 100.0])

    signal = MACrossoverStrategy().evaluate(history)

    assert signal is not None
    assert signal.confidence == 0.5


def test_only_the_crossing_bar_fires_in_a_series() -> None:
    fast = [98.0, 99.0, 99.8, 100.4, 101.0, 101.5, 102.0]
    history = make_history(7, ema_50=fast, ema_200=[100.0] * 7)

    signals = signals_over(MACrossoverStrategy(), history)

    assert list(signals) == [3]


def test_bar_just_before_the_cross_is_quiet() -> None:
    history = make_history(2, ema_50=[99.0, 99.9], ema_200=[100.0, 100.0])

    assert MACrossoverStrategy().evaluate(history) is None


def test_touching_without_crossing_is_quiet() -> None:
    history = make_history(2, ema_50=[99.0, 100.0], ema_200=[100.0, 100.0])

    assert MACrossoverStrategy().evaluate(history) is None


@pytest.mark.parametrize("missing", ["ema_50", "ema_200"])
def test_warm_up_none_on_previous_bar_is_quiet(missing: str) -> None:
    history = make_history(2, ema_50=[99.0, 101.0], ema_200=[100.0, 100.0])
    history[0] = with_values(history[0], **{missing: None})

    assert MACrossoverStrategy().evaluate(history) is None


def test_single_snapshot_is_too_short() -> None:
    history = make_history(2, ema_50=[99.0, 101.0], ema_200=[100.0, 100.0])

    assert MACrossoverStrategy().evaluate(history[1:]) is None


def test_bar_not_yet_closed_is_quiet() -> None:
    history = make_history(2, ema_50=[99.0, 101.0], ema_200=[100.0, 100.0])
    history[-1] = unclosed(history[-1])

    assert MACrossoverStrategy().evaluate(history) is None


def test_indicators_follow_parameters() -> None:
    strategy = MACrossoverStrategy(fast=20, slow=100)

    assert strategy.indicators == {"ema_20": "ema(20)", "ema_100": "ema(100)"}
    assert strategy.lookback == 2


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"fast": 0}, "fast"),
        ({"fast": 200, "slow": 50}, "fast"),
        ({"min_confidence": 2}, "min_confidence"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(
    params: dict[str, float], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        MACrossoverStrategy(**params)  # type: ignore[arg-type]


def test_own_min_confidence_suppresses_weak_signals() -> None:
    history = make_history(2, closes=[100, 99], ema_50=[99.9, 100.05], ema_200=[100.1, 100.0])

    assert MACrossoverStrategy(min_confidence=0.6).evaluate(history) is None
