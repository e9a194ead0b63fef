"""Series builders and reference implementations for the indicator contract suite.

References come from TA-Lib (the ``talib`` package, C library 0.6+) for every kind TA-Lib
has; VWAP, which TA-Lib lacks, is checked against a short numpy reference written here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np
import pytest
import talib

from wagehood.indicators.registry import parse_spec
from wagehood.types import Bar, Timeframe

START = 1_717_200_000  # 2024-06-01T00:00:00Z
LONG = 100_000
TOLERANCE = 1e-9  # relative to max(|reference|, price level)

Arrays = dict[str, np.ndarray]


def random_walk(n: int, seed: int = 7) -> np.ndarray:
    """Return ``n`` closes of a random walk kept inside $100-800 by reflection."""
    steps = np.random.default_rng(seed).normal(0.0, 1.0, n)
    closes = np.empty(n)
    price = 300.0
    for i, step in enumerate(steps.tolist()):
        price = price + step if 100.0 <= price + step <= 800.0 else price - step
        closes[i] = price
    return closes


def trending(n: int, seed: int = 11) -> np.ndarray:
    """Return ``n`` closes rising steadily from $100 to $800 with a little noise."""
    noise = np.random.default_rng(seed).normal(0.0, 0.3, n)
    return np.linspace(100.0, 800.0, n) + noise


def ohlcv(closes: np.ndarray, seed: int = 3, step: int = 60) -> Arrays:
    """Return arrays of time, high, low, close and volume around ``closes``."""
    rng = np.random.default_rng(seed)
    n = len(closes)
    opens = np.concatenate([closes[:1], closes[:-1]])
    wick = np.abs(rng.normal(0.0, 0.5, (2, n)))
    return {
        "time": START + step * np.arange(n),
        "high": np.maximum(opens, closes) + wick[0],
        "low": np.minimum(opens, closes) - wick[1],
        "close": np.asarray(closes, dtype=float),
        "volume": rng.integers(100, 10_000, n).astype(float),
    }


def to_bars(arrays: Arrays) -> list[Bar]:
    """Return the arrays as ``Bar`` objects (symbol TEST, one-minute bars)."""
    columns = zip(
        arrays["time"].tolist(),
        arrays["high"].tolist(),
        arrays["low"].tolist(),
        arrays["close"].tolist(),
        arrays["volume"].tolist(),
        strict=True,
    )
    return [Bar("TEST", Timeframe.M1, t, c, h, low, c, v) for t, h, low, c, v in columns]


def bars_from_closes(closes: Sequence[float], step: int = 3600) -> list[Bar]:
    """Return simple bars for a short series (hourly, so VWAP sessions have 24 bars)."""
    bars = []
    for i, close in enumerate(closes):
        wick = 0.25 + (i % 5) * 0.5
        volume = float((i * 7919) % 1000)
        bars.append(
            Bar(
                "TEST",
                Timeframe.H1,
                START + i * step,
                close,
                close + wick,
                close - wick,
                close,
                volume,
            )
        )
    return bars


def bar_arrays(bars: Sequence[Bar]) -> Arrays:
    """Return the arrays behind ``bars``."""
    return {
        "time": np.array([b.time for b in bars]),
        "high": np.array([b.high for b in bars], dtype=float),
        "low": np.array([b.low for b in bars], dtype=float),
        "close": np.array([b.close for b in bars], dtype=float),
        "volume": np.array([b.volume for b in bars], dtype=float),
    }


def vwap_reference(a: Arrays) -> np.ndarray:
    """Session VWAP with numpy: cumulative sums of typical price x volume per UTC day."""
    typical = (a["high"] + a["low"] + a["close"]) / 3
    days = a["time"] // 86400
    out = np.empty(len(typical))
    for day in np.unique(days):
        mask = days == day
        price_volume = np.cumsum(typical[mask] * a["volume"][mask])
        volume = np.cumsum(a["volume"][mask])
        with np.errstate(invalid="ignore", divide="ignore"):
            out[mask] = np.where(
                volume > 0, price_volume / np.where(volume > 0, volume, 1), typical[mask]
            )
    return out


_REFERENCES: dict[str, Callable[[Arrays, list[Any]], Any]] = {
    "sma": lambda a, p: talib.SMA(a["close"], *p),
    "ema": lambda a, p: talib.EMA(a["close"], *p),
    "rsi": lambda a, p: talib.RSI(a["close"], *p),
    "macd": lambda a, p: talib.MACD(a["close"], *p),
    "bbands": lambda a, p: talib.BBANDS(a["close"], p[0], p[1], p[1], 0),
    "atr": lambda a, p: talib.ATR(a["high"], a["low"], a["close"], *p),
    "stoch": lambda a, p: talib.STOCH(a["high"], a["low"], a["close"], p[0], p[1], 0, p[2], 0),
    "obv": lambda a, p: talib.OBV(a["close"], a["volume"]),
    "vwap": lambda a, p: vwap_reference(a),
}


def reference(spec: str, arrays: Arrays) -> list[np.ndarray]:
    """Return the reference outputs for ``spec``, one array per output (NaN in warm-up)."""
    kind, values = parse_spec(spec)
    params = [int(v) if v.is_integer() else v for v in values]
    result = _REFERENCES[kind](arrays, params)
    return list(result) if isinstance(result, tuple) else [result]


def as_columns(values: Sequence[Any], width: int) -> list[np.ndarray]:
    """Turn ``update`` results into one float array per output, NaN for ``None``."""
    rows = [_row(value, width) for value in values]
    return [np.array([row[i] for row in rows], dtype=float) for i in range(width)]


def _row(value: Any, width: int) -> tuple[float, ...]:
    if value is None:
        return (np.nan,) * width
    if is_dataclass(value):
        return tuple(getattr(value, f.name) for f in fields(value))
    return (value,)


def assert_matches_reference(spec: str, results: Sequence[Any], arrays: Arrays) -> None:
    """Assert ``None`` exactly where the reference has NaN, and values within tolerance."""
    expected = reference(spec, arrays)
    actual = as_columns(results, len(expected))
    scale_floor = arrays["close"]
    for i, (ours, theirs) in enumerate(zip(actual, expected, strict=True)):
        missing = np.isnan(theirs)
        mismatch = np.flatnonzero(missing != np.isnan(ours))
        assert mismatch.size == 0, f"{spec} output {i}: None/NaN differ first at {mismatch[:5]}"
        scale = np.maximum(np.abs(theirs), scale_floor)[~missing]
        error = np.abs(ours - theirs)[~missing] / scale
        worst = int(np.argmax(error)) if error.size else 0
        assert error.size == 0 or error[worst] <= TOLERANCE, (
            f"{spec} output {i}: {error[worst]:.3g}"
        )


@pytest.fixture(scope="session")
def long_series() -> dict[str, tuple[Arrays, list[Bar]]]:
    """Random-walk and trending series of 100,000 one-minute bars each."""
    series = {"random_walk": ohlcv(random_walk(LONG)), "trending": ohlcv(trending(LONG))}
    return {name: (arrays, to_bars(arrays)) for name, arrays in series.items()}
