"""BollingerBreakoutStrategy: band breakouts after a squeeze, on volume from past bars only."""

from __future__ import annotations

import pytest

from tests.strategies.factories import make_history, signals_over, unclosed, with_values
from wagehood.strategies.bollinger_breakout import BollingerBreakoutStrategy
from wagehood.types import Side, Snapshot

NARROWING = [6.0, 5.5, 5.0, 4.5, 4.0, 3.5, 3.0, 2.5, 2.0, 1.5, 1.0]  # half-widths, squeeze


def bands(
    half_widths: list[float], closes: list[float], volumes: list[float] | None = None
) -> list[Snapshot]:
    """Return bars with bands of ``half_widths`` around a middle of 100."""
    n = len(closes)
    return make_history(
        n,
        closes=closes,
        volumes=volumes or [1000.0] * n,
        bb_upper=[100 + w for w in half_widths],
        bb_middle=[100.0] * n,
        bb_lower=[100 - w for w in half_widths],
    )


def small() -> BollingerBreakoutStrategy:
    """Return the strategy with short windows: squeeze over 10 bars, volume over 5."""
    return BollingerBreakoutStrategy(squeeze_bars=10, volume_bars=5)


def test_close_above_upper_band_after_squeeze_on_volume_emits_buy() -> None:
    history = bands([*NARROWING, 1.5], [100.0] * 11 + [102.5], [1000.0] * 11 + [3000.0])

    signal = small().evaluate(history)

    assert signal is not None
    assert signal.side is Side.BUY
    assert signal.time == history[-1].bar.time
    assert signal.price == 102.5
    assert "upper Bollinger Band" in signal.reason
    assert "squeeze" in signal.reason
    # 0.4 + 0.3 * (3x volume: full) + 0.3 * (1.0 beyond / 1.5 half-width)
    assert signal.confidence == pytest.approx(0.9)
    assert signal.values["volume_ratio"] == 3.0


def test_close_below_lower_band_after_squeeze_emits_sell() -> None:
    history = bands([*NARROWING, 1.5], [100.0] * 11 + [97.5], [1000.0] * 11 + [2000.0])

    signal = small().evaluate(history)

    assert signal is not None
    assert signal.side is Side.SELL
    assert "lower Bollinger Band" in signal.reason


def test_every_bar_after_the_breakout_stays_quiet() -> None:
    half_widths = [*NARROWING, 1.5, 2.0, 2.5, 3.0]
    closes = [100.0] * 11 + [102.5, 103.0, 103.5, 104.0]
    volumes = [1000.0] * 11 + [3000.0, 9000.0, 9000.0, 9000.0]

    signals = signals_over(small(), bands(half_widths, closes, volumes))

    assert list(signals) == [11]


def test_bar_just_before_the_breakout_is_quiet() -> None:
    history = bands([*NARROWING, 1.5], [100.0] * 11 + [101.4], [1000.0] * 11 + [3000.0])

    assert small().evaluate(history) is None


def test_breakout_without_squeeze_is_quiet() -> None:
    widening = [w + 5 for w in reversed(NARROWING)]  # widest just before the breakout
    history = bands([*widening, 11.5], [100.0] * 11 + [112.0], [1000.0] * 11 + [3000.0])

    assert small().evaluate(history) is None


def test_max_width_counts_as_a_squeeze() -> None:
    widening = [w + 5 for w in reversed(NARROWING)]
    history = bands([*widening, 11.5], [100.0] * 11 + [112.0], [1000.0] * 11 + [3000.0])
    strategy = BollingerBreakoutStrategy(squeeze_bars=10, volume_bars=5, max_width=0.25)

    assert strategy.evaluate(history) is not None


def test_breakout_on_ordinary_volume_is_quiet() -> None:
    history = bands([*NARROWING, 1.5], [100.0] * 11 + [102.5], [1000.0] * 11 + [1400.0])

    assert small().evaluate(history) is None


def test_volume_average_excludes_the_breakout_bar() -> None:
    # Average of the 4 bars before: 100 -> ratio 1.7 passes. Had the breakout bar been in
    # the average ((3 * 100 + 170) / 4 = 117.5), the ratio would be 1.45 and fail.
    strategy = BollingerBreakoutStrategy(squeeze_bars=10, volume_bars=4)
    history = bands([*NARROWING, 1.5], [100.0] * 11 + [102.5], [100.0] * 11 + [170.0])

    signal = strategy.evaluate(history)

    assert signal is not None
    assert signal.values["volume_ratio"] == pytest.approx(1.7)


def test_huge_volume_on_a_later_bar_does_not_change_the_earlier_decision() -> None:
    half_widths = [*NARROWING, 1.5, 2.0]
    closes = [100.0] * 11 + [102.5, 103.0]
    quiet_later = bands(half_widths, closes, [1000.0] * 11 + [1100.0, 1000.0])
    huge_later = bands(half_widths, closes, [1000.0] * 11 + [1100.0, 1_000_000.0])

    assert signals_over(small(), quiet_later) == {}
    assert signals_over(small(), huge_later) == {}


def test_later_bars_do_not_change_an_earlier_signal() -> None:
    half_widths = [*NARROWING, 1.5, 2.0]
    closes = [100.0] * 11 + [102.5, 103.0]
    base = bands(half_widths, closes, [1000.0] * 11 + [3000.0, 1000.0])
    huge = bands(half_widths, closes, [1000.0] * 11 + [3000.0, 1_000_000.0])

    assert signals_over(small(), base) == signals_over(small(), huge)
    assert list(signals_over(small(), huge)) == [11]


def test_warm_up_none_in_the_squeeze_window_is_quiet() -> None:
    history = bands([*NARROWING, 1.5], [100.0] * 11 + [102.5], [1000.0] * 11 + [3000.0])
    history[3] = with_values(history[3], bb_upper=None)

    assert small().evaluate(history) is None


def test_bar_not_yet_closed_is_quiet() -> None:
    history = bands([*NARROWING, 1.5], [100.0] * 11 + [102.5], [1000.0] * 11 + [3000.0])
    history[-1] = unclosed(history[-1])

    assert small().evaluate(history) is None


def test_defaults_need_fifty_one_bars() -> None:
    half_widths = [6.0 - i * 0.1 for i in range(50)] + [1.5]
    closes = [100.0] * 50 + [102.0]
    history = bands(half_widths, closes, [1000.0] * 50 + [2000.0])
    strategy = BollingerBreakoutStrategy()

    assert strategy.lookback == 51
    assert strategy.indicators == {"bb": "bbands(20,2.0)"}
    assert strategy.evaluate(history) is not None
    assert strategy.evaluate(history[1:]) is None


def test_non_default_bands_use_their_own_columns() -> None:
    assert BollingerBreakoutStrategy(period=30, std_dev=2.5).indicators == {
        "bb_30_2.5": "bbands(30,2.5)"
    }


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"period": 1}, "period"),
        ({"std_dev": 0}, "std_dev"),
        ({"squeeze_percentile": 150}, "squeeze_percentile"),
        ({"volume_factor": -1}, "volume_factor"),
        ({"max_width": -0.1}, "max_width"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(
    params: dict[str, float], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        BollingerBreakoutStrategy(**params)  # type: ignore[arg-type]
