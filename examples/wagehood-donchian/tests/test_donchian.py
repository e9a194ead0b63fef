"""The example plugin's own tests: TA-Lib parity, state round trip, the strategy's rule.

Run from this directory with wagehood installed: ``python -m pytest``. The TA-Lib test is
skipped when ``TA-Lib`` is not installed (``pip install TA-Lib numpy``).
"""

from __future__ import annotations

import random
from importlib.metadata import entry_points

import pytest
from wagehood_donchian.indicator import Donchian
from wagehood_donchian.strategy import DonchianBreakout

from wagehood.plugins import INTERFACE_VERSION, Bar, Side, Snapshot, Timeframe


def walk(count: int, seed: int = 7) -> list[Bar]:
    rng, price, bars = random.Random(seed), 100.0, []
    for n in range(count):
        close = max(1.0, price + rng.gauss(0, 1))
        high, low = max(price, close) + rng.random(), min(price, close) - rng.random()
        bars.append(Bar("TEST", Timeframe.M1, 60 * n, price, high, low, close, 1000.0))
        price = close
    return bars


def batch(bars: list[Bar], period: int) -> list[tuple[float, float, float] | None]:
    # The straightforward computation: look at the whole window each time.
    out: list[tuple[float, float, float] | None] = []
    for n in range(len(bars)):
        if n + 1 < period:
            out.append(None)
            continue
        window = bars[n + 1 - period : n + 1]
        upper, lower = max(b.high for b in window), min(b.low for b in window)
        out.append((upper, (upper + lower) / 2, lower))
    return out


def test_incremental_equals_batch_with_exactly_warmup_nones() -> None:
    bars, channel = walk(2_000), Donchian(20)

    values = [channel.update(bar) for bar in bars]

    assert values == batch(bars, 20)
    assert values.index(next(v for v in values if v is not None)) == channel.warmup


def test_matches_talib_max_and_min() -> None:
    np = pytest.importorskip("numpy")
    talib = pytest.importorskip("talib")
    bars, channel = walk(10_000), Donchian(14)
    values = [channel.update(bar) for bar in bars]

    upper = talib.MAX(np.array([b.high for b in bars]), 14)
    lower = talib.MIN(np.array([b.low for b in bars]), 14)

    for n, value in enumerate(values):
        if value is None:
            assert np.isnan(upper[n])
        else:
            assert (value[0], value[2]) == (upper[n], lower[n])


def test_state_round_trip_continues_identically() -> None:
    bars, channel = walk(500), Donchian(10)
    for bar in bars[:250]:
        channel.update(bar)

    restored = Donchian.from_state(channel.to_state())

    assert [restored.update(b) for b in bars[250:]] == [channel.update(b) for b in bars[250:]]
    assert repr(restored) == "Donchian(10)"


def test_strategy_buys_the_first_close_above_the_previous_channel() -> None:
    strategy = DonchianBreakout(period=5)
    bars = [Bar("TEST", Timeframe.M1, 60 * n, 10, 11, 9, c, 1) for n, c in enumerate((10, 10, 12))]
    channel = {"dc_5_upper": 11.0, "dc_5_middle": 10.0, "dc_5_lower": 9.0}
    history = [Snapshot(bar, channel) for bar in bars]

    signal = strategy.evaluate(history)

    assert signal is not None
    assert (signal.side, signal.price, signal.strategy) == (Side.BUY, 12, "donchian_breakout")
    assert signal.confidence == 1.0  # 1.0 beyond a channel 2.0 wide: more than a quarter
    assert strategy.evaluate(history[:2]) is None


def test_declares_this_interface_and_is_registered_when_installed() -> None:
    assert Donchian.interface_version == DonchianBreakout.interface_version == INTERFACE_VERSION
    names = {point.name for point in entry_points(group="wagehood.strategies")}
    if "donchian_breakout" not in names:
        pytest.skip("package not installed (pip install -e .)")
    assert "donchian" in {point.name for point in entry_points(group="wagehood.indicators")}
