"""Properties of every registered strategy on random snapshot windows (Hypothesis).

Two kinds of windows: *wild* ones (any length, any float, NaN, infinities, None, open last
bar) probe robustness; *plausible* ones (full length, values drawn from small pools around
the rules' thresholds) make signals frequent enough for the signal properties to bite.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies.factories import make_snapshot
from wagehood.strategies.base import Strategy
from wagehood.strategies.registry import STRATEGIES, build_strategy
from wagehood.types import Snapshot

_SUFFIXES = {"macd": ("", "_signal", "_hist"), "bbands": ("_upper", "_middle", "_lower")}

wild_values = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-200, max_value=200),
)

# Pools around the thresholds, by column name: crossings and zone entries happen often.
_POOLS: list[tuple[Callable[[str], bool], list[float]]] = [
    (lambda c: c.startswith("rsi"), [20, 28, 32, 40, 48, 52, 60, 68, 72, 80]),
    (lambda c: c.startswith("macd"), [-0.2, -0.1, 0.0, 0.1, 0.2]),
    (lambda c: c.startswith("ema"), [99.0, 100.0, 101.0]),
    (lambda c: c.endswith("_upper"), [100.5, 101.0, 102.0]),
    (lambda c: c.endswith("_middle"), [100.0]),
    (lambda c: c.endswith("_lower"), [98.0, 99.0, 99.5]),
]


def plausible_pool(column: str) -> st.SearchStrategy[list[float]]:
    """Return 1-4 values typical of ``column``; one window draws from them only (trends)."""
    pool = next(values for matches, values in _POOLS if matches(column))
    return st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True)


def columns(strategy: Strategy) -> list[str]:
    """Return every column ``strategy`` may read, composite suffixes included."""
    names: list[str] = []
    for name, spec in strategy.indicators.items():
        kind = spec.split("(")[0]
        names += [name + suffix for suffix in _SUFFIXES.get(kind, ("",))]
    return names


@st.composite
def wild_windows(draw: st.DrawFn, strategy: Strategy) -> list[Snapshot]:
    """Draw 0 to ``lookback + 1`` snapshots with any values; the last bar may be open."""
    length = draw(st.integers(0, strategy.lookback + 1))
    names = columns(strategy)
    history = []
    for index in range(length):
        close = draw(st.floats(0.01, 1e6))
        spread = draw(st.floats(0, 0.5))
        history.append(
            make_snapshot(
                index,
                close,
                high=close * (1 + spread),
                low=close * (1 - spread),
                volume=draw(st.floats(0, 1e12)),
                closed=draw(st.booleans()) if index == length - 1 else True,
                values={name: draw(wild_values) for name in names},
            )
        )
    return history


@st.composite
def plausible_windows(draw: st.DrawFn, strategy: Strategy) -> list[Snapshot]:
    """Draw ``lookback`` closed snapshots with values near the rules' thresholds."""
    pools = {name: draw(plausible_pool(name)) for name in columns(strategy)}
    history = []
    for index in range(strategy.lookback):
        close = draw(st.sampled_from([98.0, 99.0, 100.0, 100.7, 101.5, 103.0]))
        spread = draw(st.sampled_from([0.0, 0.5, 1.0]))
        history.append(
            make_snapshot(
                index,
                close,
                high=close + spread,
                low=close - spread,
                volume=draw(st.sampled_from([1000.0, 1000.0, 4000.0])),
                values={name: draw(st.sampled_from(pool)) for name, pool in pools.items()},
            )
        )
    return history


def check_signal(strategy: Strategy, history: list[Snapshot]) -> None:
    """Assert the invariants of ``strategy.evaluate(history)``."""
    signal = strategy.evaluate(history)
    if signal is None:
        return
    assert 0.0 <= signal.confidence <= 1.0
    assert math.isfinite(signal.confidence)
    assert signal.strategy == strategy.name
    assert signal.time == history[-1].bar.time
    assert signal.price == history[-1].bar.close
    assert history[-1].bar.closed
    assert signal.reason
    assert signal == strategy.evaluate(list(history))  # pure: same input, same output


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_evaluate_never_raises_on_wild_windows(name: str, data: st.DataObject) -> None:
    strategy = build_strategy(name, {})

    check_signal(strategy, data.draw(wild_windows(strategy)))


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_signals_on_plausible_windows_have_confidence_in_unit_interval(
    name: str, data: st.DataObject
) -> None:
    strategy = build_strategy(name, {})

    check_signal(strategy, data.draw(plausible_windows(strategy)))
