"""MACDRSIStrategy: MACD signal-line crosses confirmed by RSI(14)."""

from __future__ import annotations

import pytest

from tests.strategies.factories import make_history, signals_over, unclosed, with_values
from wagehood.strategies.macd_rsi import MACDRSIStrategy
from wagehood.types import Side, Snapshot


def crossing(
    macd: list[float],
    rsi: list[float | None],
    signal: float = 0.0,
    closes: list[float] | None = None,
) -> list[Snapshot]:
    """Return a window whose MACD line is ``macd`` around a flat signal line."""
    n = len(macd)
    return make_history(
        n,
        closes=closes,
        macd=macd,
        macd_signal=[signal] * n,
        macd_hist=[m - signal for m in macd],
        rsi_14=rsi,
    )


def test_cross_up_out_of_oversold_emits_buy() -> None:
    history = crossing([-0.8, -0.7, -0.6, -0.5, -0.4, -0.1], [35, 28, 25, 27, 29, 33], signal=-0.2)

    signal = MACDRSIStrategy().evaluate(history)

    assert signal is not None
    assert signal.side is Side.BUY
    assert signal.time == history[-1].bar.time
    assert signal.price == history[-1].bar.close
    assert "crossed above its signal line" in signal.reason
    assert "oversold" in signal.reason
    # base 0.5 + 0.3 * (30 - 25) / 10 + 0.2 (MACD below zero)
    assert signal.confidence == pytest.approx(0.85)
    assert signal.values["rsi_14"] == 33


def test_cross_up_with_rsi_above_fifty_and_positive_histogram_emits_buy() -> None:
    history = crossing([0.1, 0.1, 0.1, 0.1, 0.2, 0.6], [58] * 6, signal=0.5)

    signal = MACDRSIStrategy().evaluate(history)

    assert signal is not None
    assert signal.side is Side.BUY
    assert "above 50" in signal.reason
    # base 0.4 + 0.3 * 8 / 20, MACD above zero
    assert signal.confidence == pytest.approx(0.52)


def test_cross_down_out_of_overbought_emits_sell() -> None:
    history = crossing([0.8, 0.7, 0.6, 0.5, 0.4, 0.1], [65, 72, 76, 73, 71, 66], signal=0.2)

    signal = MACDRSIStrategy().evaluate(history)

    assert signal is not None
    assert signal.side is Side.SELL
    assert "overbought" in signal.reason
    assert signal.confidence == pytest.approx(0.5 + 0.3 * 0.6 + 0.2)


def test_cross_down_with_rsi_below_fifty_emits_sell() -> None:
    history = crossing([0.1] * 5 + [-0.3], [42] * 6)

    signal = MACDRSIStrategy().evaluate(history)

    assert signal is not None
    assert signal.side is Side.SELL


def test_cross_without_rsi_confirmation_is_quiet() -> None:
    history = crossing([-0.5] * 5 + [0.2], [45] * 6)

    assert MACDRSIStrategy().evaluate(history) is None


def test_rsi_still_oversold_at_the_cross_is_quiet() -> None:
    history = crossing([-0.5] * 5 + [0.2], [25] * 6)

    assert MACDRSIStrategy().evaluate(history) is None


def test_oversold_older_than_recent_bars_does_not_confirm() -> None:
    history = crossing([-0.5] * 6 + [0.2], [20, 35, 36, 37, 38, 39, 40])

    assert MACDRSIStrategy(recent_bars=5).evaluate(history) is None
    assert MACDRSIStrategy(recent_bars=6).evaluate(history) is not None


def test_only_the_crossing_bar_fires_in_a_series() -> None:
    history = crossing([-0.5, -0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4], [60] * 10)

    signals = signals_over(MACDRSIStrategy(), history)

    assert list(signals) == [6]


def test_bar_just_before_the_cross_is_quiet() -> None:
    history = crossing([-0.5] * 5 + [-0.01], [60] * 6)

    assert MACDRSIStrategy().evaluate(history) is None


@pytest.mark.parametrize("column", ["macd", "macd_signal", "macd_hist", "rsi_14"])
def test_warm_up_none_is_quiet(column: str) -> None:
    history = crossing([0.1] * 5 + [0.6], [58] * 6, signal=0.5)
    history[-1] = with_values(history[-1], **{column: None})

    assert MACDRSIStrategy().evaluate(history) is None


def test_bar_not_yet_closed_is_quiet() -> None:
    history = crossing([0.1] * 5 + [0.6], [58] * 6, signal=0.5)
    history[-1] = unclosed(history[-1])

    assert MACDRSIStrategy().evaluate(history) is None


def test_history_shorter_than_lookback_is_quiet() -> None:
    history = crossing([0.1] * 5 + [0.6], [58] * 6, signal=0.5)

    assert MACDRSIStrategy().evaluate(history[-2:]) is None


def test_non_default_macd_uses_its_own_columns() -> None:
    strategy = MACDRSIStrategy(fast=5, slow=35, signal=5, rsi_period=9)
    n = 6
    history = make_history(
        n,
        macd_5_35_5=[0.1] * 5 + [0.6],
        macd_5_35_5_signal=[0.5] * n,
        macd_5_35_5_hist=[-0.4] * 5 + [0.1],
        rsi_9=[58] * n,
    )

    assert strategy.indicators == {"macd_5_35_5": "macd(5,35,5)", "rsi_9": "rsi(9)"}
    assert strategy.evaluate(history) is not None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"fast": 30}, "fast"),
        ({"signal": 0}, "signal"),
        ({"oversold": 60}, "oversold"),
        ({"overbought": 40}, "overbought"),
        ({"recent_bars": 0}, "recent_bars"),
        ({"rsi_period": 2.5}, "rsi_period"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(
    params: dict[str, float], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        MACDRSIStrategy(**params)  # type: ignore[arg-type]
