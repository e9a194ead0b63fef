"""Slow stochastic oscillator, as TA-Lib's ``STOCH`` with SMA smoothing."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from wagehood.indicators.base import Source
from wagehood.indicators.sma import (
    SMA,
    check_version,
    decode_floats,
    encode_floats,
    prefixed,
    substate,
)

STATE_VERSION = "1"


@dataclass(frozen=True, slots=True)
class StochasticValue:
    """One stochastic reading: slow %K and %D, 0 to 100."""

    k: float
    d: float


class Stochastic:
    """Slow stochastic: raw %K over ``fastk`` bars, smoothed by SMA(slowk), and its SMA(slowd).

    Follows TA-Lib ``STOCH(fastk, slowk, 0, slowd, 0)``: raw %K is
    ``(close - lowest_low) / (highest_high - lowest_low) * 100`` (0 when the range is
    zero), %K is TA-Lib's SMA of raw %K and %D TA-Lib's SMA of %K. The first value comes at
    index ``fastk + slowk + slowd - 3``. The extremes are taken over a bounded window of the
    last ``fastk`` highs and lows, so an update costs O(fastk), independent of history.

    Args:
        fastk: Look-back for the highest high and lowest low, at least 1.
        slowk: Smoothing of raw %K, at least 1.
        slowd: Smoothing of %K into %D, at least 1.
    """

    source: ClassVar[Source] = "bar"
    outputs: ClassVar[tuple[str, ...]] = ("_k", "_d")
    __slots__ = ("_highs", "_lows", "_slowd", "_slowk", "_values", "fastk", "slowd", "slowk")

    def __init__(self, fastk: int = 14, slowk: int = 3, slowd: int = 3) -> None:
        for name, period in (("fastk", fastk), ("slowk", slowk), ("slowd", slowd)):
            if period < 1:
                raise ValueError(f"{name} must be >= 1, was {period}")
        self.fastk, self.slowk, self.slowd = fastk, slowk, slowd
        self._highs: deque[float] = deque(maxlen=fastk)
        self._lows: deque[float] = deque(maxlen=fastk)
        self._slowk = SMA(slowk)
        self._slowd = SMA(slowd)
        self._values: tuple[float, float] | None = None

    def __repr__(self) -> str:
        return f"Stochastic({self.fastk}, {self.slowk}, {self.slowd})"

    @property
    def warmup(self) -> int:
        """Return how many inputs produce ``None`` before the first value."""
        return self.fastk + self.slowk + self.slowd - 3

    @property
    def ready(self) -> bool:
        """Return whether the last ``update`` produced a value."""
        return self._values is not None

    def update(self, x: Any) -> StochasticValue | None:
        """Consume one bar (``high``, ``low``, ``close``) and return %K and %D."""
        values = self.update_values(x)
        return None if values is None else StochasticValue(*values)

    def update_values(self, x: Any) -> tuple[float, float] | None:
        """Do what ``update`` does but return ``(k, d)`` as a plain tuple."""
        highs, lows = self._highs, self._lows
        highs.append(x.high)
        lows.append(x.low)
        if len(highs) < self.fastk:
            return None
        lowest = min(lows)
        diff = max(highs) - lowest
        raw = (x.close - lowest) / diff * 100.0 if diff != 0.0 else 0.0
        k = self._slowk.update(raw)
        if k is None:
            return None
        d = self._slowd.update(k)
        if d is None:
            return None
        values = self._values = (k, d)
        return values

    def to_state(self) -> dict[str, str]:
        """Return the complete state, the two SMAs under ``slowk.`` and ``slowd.``."""
        return {
            "v": STATE_VERSION,
            "fastk": str(self.fastk),
            "highs": encode_floats(self._highs),
            "lows": encode_floats(self._lows),
            "value": encode_floats(self._values or ()),
            **prefixed(self._slowk.to_state(), "slowk."),
            **prefixed(self._slowd.to_state(), "slowd."),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Self:
        """Rebuild a stochastic from ``to_state()`` output."""
        check_version(state, STATE_VERSION)
        slowk = SMA.from_state(substate(state, "slowk."))
        slowd = SMA.from_state(substate(state, "slowd."))
        stoch = cls(int(state["fastk"]), slowk.period, slowd.period)
        stoch._slowk, stoch._slowd = slowk, slowd
        stoch._highs.extend(decode_floats(state["highs"]))
        stoch._lows.extend(decode_floats(state["lows"]))
        k_and_d = decode_floats(state["value"])
        stoch._values = (k_and_d[0], k_and_d[1]) if k_and_d else None
        return stoch
