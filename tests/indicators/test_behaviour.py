"""Named behaviours of individual indicators: edge cases, alignment and validation."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from tests.indicators.conftest import START
from wagehood.indicators.atr import ATR
from wagehood.indicators.bollinger import BollingerBands, BollingerValue
from wagehood.indicators.ema import EMA
from wagehood.indicators.macd import MACD, MACDValue
from wagehood.indicators.obv import OBV
from wagehood.indicators.rsi import RSI
from wagehood.indicators.sma import SMA
from wagehood.indicators.stochastic import Stochastic, StochasticValue
from wagehood.indicators.vwap import VWAP
from wagehood.types import Bar, Timeframe


def test_rsi_all_gains_returns_100() -> None:
    rsi = RSI(14)

    values = [rsi.update(100.0 + i) for i in range(30)]

    assert values[14:] == [100.0] * 16


def test_rsi_flat_series_returns_0() -> None:
    rsi = RSI(3)

    values = [rsi.update(50.0) for _ in range(6)]

    assert values == [None, None, None, 0.0, 0.0, 0.0]


def test_rsi_keeps_its_last_value_once_averages_decay_to_zero() -> None:
    rsi = RSI(14)
    closes = [100.0 + i for i in range(16)] + [115.0] * 12_000

    values = [rsi.update(x) for x in closes]

    assert values[-1] == 100.0 == talib.RSI(np.array(closes), 14)[-1]


def test_macd_first_value_is_at_index_33() -> None:
    macd = MACD(12, 26, 9)

    values = [macd.update(100.0 + (i % 7)) for i in range(40)]

    assert values.index(next(v for v in values if v is not None)) == 33 == macd.warmup


def test_macd_fast_ema_is_seeded_from_the_last_fast_inputs_of_the_slow_seed() -> None:
    macd = MACD(2, 3, 1)

    values = [macd.update(x) for x in (1.0, 2.0, 4.0)]

    line = (2.0 + 4.0) / 2 - (1.0 + 2.0 + 4.0) / 3
    assert values[-1] == MACDValue(macd=line, signal=line, hist=0.0)


def test_ema_is_seeded_with_the_sma_of_the_first_period_inputs() -> None:
    ema = EMA(3)

    values = [ema.update(x) for x in (1.0, 2.0, 6.0, 11.0)]

    assert values == [None, None, 3.0, 7.0]


def test_sma_keeps_only_a_bounded_window() -> None:
    sma = SMA(5)

    for i in range(10_000):
        sma.update(float(i))

    assert len(sma.to_state()["window"].split(",")) == 4


def test_bollinger_flat_window_has_zero_width() -> None:
    bands = BollingerBands(4, 2.0)

    values = [bands.update(7.5) for _ in range(5)]

    assert values[-1] == BollingerValue(upper=7.5, middle=7.5, lower=7.5)


def test_bollinger_uses_population_standard_deviation() -> None:
    bands = BollingerBands(4, 1.0)

    value = [bands.update(x) for x in (2.0, 4.0, 4.0, 6.0)][-1]

    assert value == BollingerValue(upper=5.4142135623730949, middle=4.0, lower=2.5857864376269051)


def test_stochastic_zero_range_gives_zero() -> None:
    stoch = Stochastic(3, 1, 1)

    values = stoch_values(stoch, bars_flat(5))

    assert values[-1] == StochasticValue(k=0.0, d=0.0)


def test_atr_first_value_is_mean_of_first_true_ranges() -> None:
    atr = ATR(2)
    bars = [bar(0, 10, 12, 9), bar(1, 11, 13, 10), bar(2, 12, 12, 11)]

    values = [atr.update(b) for b in bars]

    assert values == [None, None, (3.0 + 1.0) / 2]


def test_obv_starts_at_first_volume_and_follows_close_direction() -> None:
    obv = OBV()
    bars = [
        bar(i, close, close, close, volume)
        for i, (close, volume) in enumerate([(10, 100), (11, 50), (11, 70), (9, 30)])
    ]

    assert [obv.update(b) for b in bars] == [100.0, 150.0, 150.0, 120.0]


def test_vwap_resets_when_the_utc_date_changes() -> None:
    vwap = VWAP()
    day = 86_400

    first = vwap.update(bar(0, 10, 10, 10, 100, time=START + day - 60))
    second = vwap.update(bar(1, 20, 20, 20, 100, time=START + day - 30))
    after_midnight = vwap.update(bar(2, 40, 40, 40, 100, time=START + day))

    assert (first, second, after_midnight) == (10.0, 15.0, 40.0)


def test_vwap_without_volume_is_the_typical_price() -> None:
    assert VWAP().update(bar(0, 9, 12, 6, 0)) == 9.0


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: SMA(0), "period must be >= 1, was 0"),
        (lambda: EMA(-3), "period must be >= 1, was -3"),
        (lambda: RSI(1), "period must be >= 2, was 1"),
        (lambda: MACD(1, 26, 9), "fast must be >= 2, was 1"),
        (lambda: MACD(26, 12, 9), "slow must be > fast"),
        (lambda: MACD(12, 26, 0), "signal must be >= 1, was 0"),
        (lambda: BollingerBands(1), "period must be >= 2, was 1"),
        (lambda: BollingerBands(20, 0.0), "nbdev must be a finite number > 0"),
        (lambda: BollingerBands(20, float("inf")), "nbdev must be a finite number > 0"),
        (lambda: ATR(0), "period must be >= 1, was 0"),
        (lambda: Stochastic(0, 3, 3), "fastk must be >= 1, was 0"),
        (lambda: Stochastic(14, 0, 3), "slowk must be >= 1, was 0"),
        (lambda: Stochastic(14, 3, 0), "slowd must be >= 1, was 0"),
    ],
)
def test_invalid_parameters_raise_value_error(factory: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        factory()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("indicator", "text"),
    [
        (SMA(20), "SMA(20)"),
        (EMA(12), "EMA(12)"),
        (RSI(), "RSI(14)"),
        (MACD(), "MACD(12, 26, 9)"),
        (BollingerBands(), "BollingerBands(20, 2.0)"),
        (ATR(), "ATR(14)"),
        (Stochastic(), "Stochastic(14, 3, 3)"),
        (OBV(), "OBV()"),
        (VWAP(), "VWAP()"),
    ],
)
def test_repr_names_kind_and_parameters(indicator: object, text: str) -> None:
    assert repr(indicator) == text


def test_macd_state_flattens_children_under_dotted_prefixes() -> None:
    state = MACD().to_state()

    assert {"fast.value", "slow.value", "signal.value", "fast.period"} <= set(state)


def bar(
    i: int, close: float, high: float, low: float, volume: float = 1.0, time: int | None = None
) -> Bar:
    """Return a one-minute bar ``i`` minutes after START (or at ``time``)."""
    return Bar(
        "TEST",
        Timeframe.M1,
        START + 60 * i if time is None else time,
        close,
        high,
        low,
        close,
        volume,
    )


def bars_flat(n: int) -> list[Bar]:
    """Return ``n`` bars whose high, low and close are all 5."""
    return [bar(i, 5.0, 5.0, 5.0) for i in range(n)]


def stoch_values(stoch: Stochastic, bars: list[Bar]) -> list[object]:
    """Feed ``bars`` and return every result."""
    return [stoch.update(b) for b in bars]
