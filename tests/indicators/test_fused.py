"""The set's fused kernel gives exactly what the indicator objects give, state included."""

from __future__ import annotations

import copy
import pickle
from dataclasses import fields
from typing import Any

import numpy as np
import pytest

from tests.indicators.conftest import ohlcv, random_walk, to_bars
from wagehood.indicators.registry import DEFAULT_INDICATORS, IndicatorSet, build
from wagehood.types import Bar

# Every kind, with short and degenerate periods next to the defaults.
MIXED = {
    "s1": "sma(1)",
    "s7": "sma(7)",
    "e1": "ema(1)",
    "e5": "ema(5)",
    "r2": "rsi(2)",
    "r9": "rsi(9)",
    "m": "macd(3,8,4)",
    "b2": "bbands(2,1.5)",
    "b9": "bbands(9,2.0)",
    "a1": "atr(1)",
    "a6": "atr(6)",
    "k": "stoch(5,3,3)",
    "o": "obv",
    "w": "vwap",
}


def series(n: int, seed: int = 5) -> list[Bar]:
    """Return ``n`` bars of a random walk with flat stretches (zero changes, zero ranges)."""
    closes = random_walk(n, seed)
    flat = slice(n // 3, n // 3 + 60)  # RSI's zero-total branch, zero variance in the bands
    closes[flat] = closes[n // 3 - 1]
    arrays = ohlcv(closes, seed)
    arrays["high"][flat] = arrays["low"][flat] = closes[n // 3 - 1]
    return to_bars(arrays)


def reference_rows(specs: dict[str, str], bars: list[Bar]) -> list[dict[str, Any]]:
    """Return each bar's row from the indicator objects, updated one by one."""
    objects = {name: build(spec) for name, spec in specs.items()}
    rows = []
    for bar in bars:
        row: dict[str, Any] = {}
        for name, indicator in objects.items():
            value = indicator.update(bar if indicator.source == "bar" else bar.close)
            for suffix, part in zip(indicator.outputs, _parts(indicator, value), strict=True):
                row[name + suffix] = part
        rows.append(row)
    return rows


def reference_state(specs: dict[str, str], bars: list[Bar]) -> dict[str, str]:
    """Return the state of the indicator objects after ``bars``, keyed as the set keys it."""
    state = {}
    for name, spec in specs.items():
        indicator = build(spec)
        for bar in bars:
            indicator.update(bar if indicator.source == "bar" else bar.close)
        state |= {f"{name}.{key}": value for key, value in indicator.to_state().items()}
    return state


def _parts(indicator: Any, value: Any) -> list[Any]:
    if len(indicator.outputs) == 1:
        return [value]
    if value is None:
        return [None] * len(indicator.outputs)
    return [getattr(value, field.name) for field in fields(value)]


@pytest.mark.parametrize("specs", [DEFAULT_INDICATORS, MIXED], ids=["default", "mixed"])
def test_rows_equal_the_objects_bit_for_bit(specs: dict[str, str]) -> None:
    bars = series(3_000)
    indicators = IndicatorSet(specs)

    rows = [indicators.update(bar) for bar in bars]

    assert rows == reference_rows(specs, bars)
    assert indicators.to_state() == reference_state(specs, bars)


@pytest.mark.parametrize("specs", [DEFAULT_INDICATORS, MIXED], ids=["default", "mixed"])
def test_reading_state_mid_stream_changes_nothing(specs: dict[str, str]) -> None:
    bars = series(600, seed=9)
    straight, sampled = IndicatorSet(specs), IndicatorSet(specs)
    expected = [straight.update(bar) for bar in bars]
    checkpoints = set(np.random.default_rng(1).integers(0, len(bars), 40).tolist())

    rows = []
    for i, bar in enumerate(bars):
        rows.append(sampled.update(bar))
        if i in checkpoints:
            assert sampled.to_state() == reference_state(specs, bars[: i + 1])

    assert rows == expected


def test_restored_set_continues_through_the_kernel_exactly() -> None:
    bars = series(400, seed=3)
    whole = IndicatorSet(MIXED)
    expected = [whole.update(bar) for bar in bars]
    first = IndicatorSet(MIXED)
    head = [first.update(bar) for bar in bars[:250]]

    restored = IndicatorSet.from_state(MIXED, first.to_state())
    tail = [restored.update(bar) for bar in bars[250:]]

    assert head + tail == expected


def test_a_bad_bar_raises_and_the_set_carries_on_unchanged() -> None:
    bars = series(200, seed=4)
    clean, hit = IndicatorSet(DEFAULT_INDICATORS), IndicatorSet(DEFAULT_INDICATORS)
    expected = [clean.update(bar) for bar in bars]
    rows = [hit.update(bar) for bar in bars[:120]]

    with pytest.raises(AttributeError, match="close"):
        hit.update(object())
    rows += [hit.update(bar) for bar in bars[120:]]

    assert rows == expected
    assert hit.to_state() == clean.to_state()


def test_indicator_objects_are_current_when_read() -> None:
    bars = series(100)
    indicators = IndicatorSet({"fast": "ema(5)", "band": "bbands(9,2.0)"})

    row = {}
    for bar in bars:
        row = indicators.update(bar)

    assert indicators.indicators["fast"].value == row["fast"]
    assert indicators.indicators["band"].ready


def test_a_running_set_copies_and_pickles_through_its_state() -> None:
    bars = series(300, seed=6)
    original = IndicatorSet(MIXED)
    for bar in bars[:200]:
        original.update(bar)

    copies = [copy.deepcopy(original), pickle.loads(pickle.dumps(original))]

    expected = [original.update(bar) for bar in bars[200:]]
    for duplicate in copies:
        assert [duplicate.update(bar) for bar in bars[200:]] == expected
