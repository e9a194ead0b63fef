"""SupportResistanceStrategy: crossings of levels built from past pivots."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies.factories import make_history, signals_over, unclosed
from wagehood.strategies.support_resistance import Level, SupportResistanceStrategy
from wagehood.types import Side, Snapshot


def from_highs(highs: list[float], closes: list[float] | None = None) -> list[Snapshot]:
    """Return bars with the given highs, lows 2 below and closes 1 below (unless given)."""
    closes = closes or [h - 1 for h in highs]
    return make_history(len(highs), highs=highs, lows=[h - 2 for h in highs], closes=closes)


def from_lows(lows: list[float], closes: list[float] | None = None) -> list[Snapshot]:
    """Return bars with the given lows, highs 2 above and closes 1 above (unless given)."""
    closes = closes or [low + 1 for low in lows]
    return make_history(len(lows), lows=lows, highs=[low + 2 for low in lows], closes=closes)


def resistance_break(extra_closes: tuple[float, ...] = ()) -> list[Snapshot]:
    """Return 50 bars: pivot highs at 110 and 110.3, then a close from 109 to 111."""
    highs = [105.0] * 50 + [c + 1 for c in extra_closes]
    highs[10], highs[30], highs[48], highs[49] = 110.0, 110.3, 110.0, 112.0
    return from_highs(highs)


def test_close_crossing_above_resistance_emits_buy() -> None:
    history = resistance_break()

    signal = SupportResistanceStrategy().evaluate(history)

    assert signal is not None
    assert signal.side is Side.BUY
    assert signal.time == history[-1].bar.time
    assert signal.price == 111.0
    assert "crossed above resistance" in signal.reason
    assert signal.values == {"level": pytest.approx(110.15), "touches": 2.0}
    # 0.3 + 0.4 * (2 touches -> 1/4) + 0.3 * 0.85 / (2 * 0.5% of 110.15)
    assert signal.confidence == pytest.approx(0.3 + 0.1 + 0.3 * 0.85 / 1.1015, abs=1e-4)


def test_close_crossing_below_support_emits_sell() -> None:
    lows = [95.0] * 50
    lows[10], lows[30], lows[48], lows[49] = 90.0, 90.2, 90.0, 88.0
    history = from_lows(lows)

    signal = SupportResistanceStrategy().evaluate(history)

    assert signal is not None
    assert signal.side is Side.SELL
    assert "crossed below support" in signal.reason
    assert signal.values["level"] == pytest.approx(90.1)


def test_every_bar_above_the_level_after_the_cross_stays_quiet() -> None:
    history = resistance_break(extra_closes=(111.5, 112.0, 112.5, 112.0))

    signals = signals_over(SupportResistanceStrategy(), history)

    assert list(signals) == [49]


def test_bar_just_before_the_cross_is_quiet() -> None:
    history = resistance_break()[:-1]
    history = from_highs([105.0, *(s.bar.high for s in history)])

    assert SupportResistanceStrategy().evaluate(history) is None


def test_a_single_touch_is_not_a_level() -> None:
    highs = [105.0] * 50
    highs[30], highs[48], highs[49] = 110.3, 110.0, 112.0

    assert SupportResistanceStrategy().evaluate(from_highs(highs)) is None


def test_pivots_farther_apart_than_tolerance_are_separate_levels() -> None:
    highs = [105.0] * 50
    highs[10], highs[30], highs[48], highs[49] = 110.0, 111.0, 109.0, 112.0

    assert SupportResistanceStrategy().evaluate(from_highs(highs)) is None
    assert SupportResistanceStrategy(tolerance=0.01).evaluate(from_highs(highs)) is not None


def test_a_pivot_needs_strength_bars_after_it_in_the_past() -> None:
    strategy = SupportResistanceStrategy(window=20, strength=3)
    unconfirmed = [105.0] * 20
    unconfirmed[5], unconfirmed[18] = 110.0, 110.1
    confirmed = [105.0] * 20
    confirmed[5], confirmed[16] = 110.0, 110.1

    assert strategy.levels([s.bar for s in from_highs(unconfirmed)]) == []
    levels = strategy.levels([s.bar for s in from_highs(confirmed)])
    assert levels == [Level(pytest.approx(110.05), 2)]  # type: ignore[arg-type]


def test_unchanged_close_is_quiet() -> None:
    history = resistance_break()
    history = from_highs(
        [s.bar.high for s in history], [*(s.bar.close for s in history[:-1]), 109.0]
    )

    assert SupportResistanceStrategy().evaluate(history) is None


def test_bar_not_yet_closed_is_quiet() -> None:
    history = resistance_break()
    history[-1] = unclosed(history[-1])

    assert SupportResistanceStrategy().evaluate(history) is None


def test_history_shorter_than_window_is_quiet() -> None:
    assert SupportResistanceStrategy().evaluate(resistance_break()[1:]) is None


def test_needs_no_indicator_columns() -> None:
    strategy = SupportResistanceStrategy(window=40)

    assert strategy.indicators == {}
    assert strategy.lookback == 40


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"strength": 0}, "strength"),
        ({"window": 7}, "window"),
        ({"tolerance": -0.1}, "tolerance"),
        ({"min_touches": 0}, "min_touches"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(
    params: dict[str, float], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        SupportResistanceStrategy(**params)  # type: ignore[arg-type]


def reference_pivots(highs: list[float], lows: list[float], strength: int) -> list[float]:
    """The rule as the docstring states it, bar by bar over whole slices."""
    pivots = []
    for i in range(strength, len(highs) - strength):
        before, after = slice(i - strength, i), slice(i + 1, i + strength + 1)
        if all(highs[i] > h for h in highs[before]) and all(highs[i] >= h for h in highs[after]):
            pivots.append(highs[i])
        if all(lows[i] < x for x in lows[before]) and all(lows[i] <= x for x in lows[after]):
            pivots.append(lows[i])
    return pivots


@given(
    strength=st.integers(1, 5),
    bars=st.lists(
        st.tuples(st.integers(1000, 1006), st.integers(0, 3), st.integers(0, 3)), max_size=80
    ),
)
def test_levels_come_from_the_pivots_the_rule_defines(
    strength: int, bars: list[tuple[int, int, int]]
) -> None:
    # Few distinct prices, so that equal highs and lows (the >= and <= edges) are common; one
    # touch makes a level, so every pivot shows.
    highs = [(mid + up) / 10 for mid, up, _ in bars]
    lows = [(mid - down) / 10 for mid, _, down in bars]
    strategy = SupportResistanceStrategy(
        strength=strength, window=2 * strength + 2, tolerance=0.0, min_touches=1
    )
    history = make_history(len(bars), highs=highs, lows=lows, closes=highs) if bars else []

    found = strategy.levels([s.bar for s in history])

    assert found == strategy._levels(reference_pivots(highs, lows, strength))
