"""RSITrendStrategy: RSI(14) pull-backs in an RSI(21)-defined trend."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.strategies.factories import make_history, signals_over, with_values
from wagehood.strategies.rsi_trend import RSITrendStrategy
from wagehood.types import Side, Snapshot


def window(trend: Sequence[float], entry: Sequence[float]) -> list[Snapshot]:
    """Return bars whose RSI(21) is ``trend`` and whose last RSI(14) values are ``entry``."""
    padded = [50.0] * (len(trend) - len(entry)) + list(entry)
    return make_history(len(trend), rsi_21=trend, rsi_14=padded)


def test_pull_back_into_buy_zone_in_up_trend_emits_buy() -> None:
    history = window([60.0] * 20, [62, 50])

    signal = RSITrendStrategy().evaluate(history)

    assert signal is not None
    assert signal.side is Side.BUY
    assert signal.time == history[-1].bar.time
    assert signal.price == history[-1].bar.close
    assert "pulled back into the buy zone" in signal.reason
    assert "up-trend" in signal.reason
    # 0.4 + 0.4 * (100% share: full) + 0.2 * (55 - 50) / 25
    assert signal.confidence == pytest.approx(0.84)


def test_rally_into_sell_zone_in_down_trend_emits_sell() -> None:
    history = window([40.0] * 20, [38, 52])

    signal = RSITrendStrategy().evaluate(history)

    assert signal is not None
    assert signal.side is Side.SELL
    assert "down-trend" in signal.reason


def test_bars_staying_inside_the_zone_are_quiet() -> None:
    history = make_history(24, rsi_21=[60.0] * 24, rsi_14=[60.0] * 20 + [50, 45, 40, 35])

    assert list(signals_over(RSITrendStrategy(), history)) == [20]


def test_entering_buy_zone_from_below_is_not_a_pull_back() -> None:
    history = window([60.0] * 20, [25, 35])

    assert RSITrendStrategy().evaluate(history) is None


def test_no_trend_is_quiet() -> None:
    history = window([40.0, 60.0] * 10, [62, 50])

    assert RSITrendStrategy().evaluate(history) is None


def test_trend_needs_the_share_of_values_above_fifty() -> None:
    at_share = window([60.0] * 12 + [40.0] * 8, [62, 50])
    below_share = window([60.0] * 11 + [40.0] * 9, [62, 50])

    assert RSITrendStrategy().evaluate(at_share) is not None
    assert RSITrendStrategy().evaluate(below_share) is None


def test_buy_in_down_trend_zone_is_quiet() -> None:
    history = window([40.0] * 20, [62, 50])

    assert RSITrendStrategy().evaluate(history) is None


@pytest.mark.parametrize(("index", "column"), [(0, "rsi_21"), (-2, "rsi_14"), (-1, "rsi_14")])
def test_warm_up_none_is_quiet(index: int, column: str) -> None:
    history = window([60.0] * 20, [62, 50])
    history[index] = with_values(history[index], **{column: None})

    assert RSITrendStrategy().evaluate(history) is None


def test_history_shorter_than_trend_bars_is_quiet() -> None:
    history = window([60.0] * 20, [62, 50])

    assert RSITrendStrategy().evaluate(history[1:]) is None


def test_indicators_follow_parameters() -> None:
    strategy = RSITrendStrategy(trend_period=30, entry_period=7, trend_bars=10)

    assert strategy.indicators == {"rsi_30": "rsi(30)", "rsi_7": "rsi(7)"}
    assert strategy.lookback == 10


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"trend_share": 0.5}, "trend_share"),
        ({"trend_bars": 1}, "trend_bars"),
        ({"buy_low": 60}, "buy_low"),
        ({"sell_high": 120}, "sell_high"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(
    params: dict[str, float], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        RSITrendStrategy(**params)  # type: ignore[arg-type]
