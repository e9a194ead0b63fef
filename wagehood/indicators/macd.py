"""Moving average convergence/divergence, as TA-Lib's ``MACD``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

from wagehood.indicators.base import Source
from wagehood.indicators.ema import EMA
from wagehood.indicators.sma import check_version, prefixed, substate

STATE_VERSION = "1"


@dataclass(frozen=True, slots=True)
class MACDValue:
    """One MACD reading: the line, its signal line and the histogram (line - signal)."""

    macd: float
    signal: float
    hist: float


class MACD:
    """MACD line ``EMA(fast) - EMA(slow)``, its ``EMA(signal)`` and the histogram.

    Follows TA-Lib ``MACD`` exactly, including its alignment: both EMAs are TA-Lib EMAs
    (SMA-seeded), but the fast EMA is started ``slow - fast`` inputs late, so that its seed
    covers inputs ``[slow - fast, slow)`` and ends where the slow EMA's seed ends. The signal
    EMA is seeded from the first ``signal`` MACD values, and all three outputs start together
    at index ``slow + signal - 2`` (33 for 12, 26, 9).

    Args:
        fast: Fast EMA period, at least 2.
        slow: Slow EMA period, greater than ``fast``.
        signal: Signal EMA period, at least 1.
    """

    source: ClassVar[Source] = "close"
    outputs: ClassVar[tuple[str, ...]] = ("", "_signal", "_hist")
    __slots__ = ("_fast", "_signal", "_skip", "_slow", "_values", "fast", "signal", "slow")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        if fast < 2:
            raise ValueError(f"fast must be >= 2, was {fast}")
        if slow <= fast:
            raise ValueError(f"slow must be > fast ({fast}), was {slow}")
        if signal < 1:
            raise ValueError(f"signal must be >= 1, was {signal}")
        self.fast, self.slow, self.signal = fast, slow, signal
        self._fast = EMA(fast)
        self._slow = EMA(slow)
        self._signal = EMA(signal)
        self._skip = slow - fast  # inputs the fast EMA does not see
        self._values: tuple[float, float, float] | None = None

    def __repr__(self) -> str:
        return f"MACD({self.fast}, {self.slow}, {self.signal})"

    @property
    def warmup(self) -> int:
        """Return how many inputs produce ``None`` before the first value."""
        return self.slow + self.signal - 2

    @property
    def ready(self) -> bool:
        """Return whether the last ``update`` produced a value."""
        return self._values is not None

    def update(self, x: float) -> MACDValue | None:
        """Consume one close and return the three MACD outputs, ``None`` while warming up."""
        values = self.update_values(x)
        return None if values is None else MACDValue(*values)

    def update_values(self, x: float) -> tuple[float, float, float] | None:
        """Do what ``update`` does but return ``(macd, signal, hist)`` as a plain tuple."""
        if self._values is None:
            return self._warm(x)
        # Hot path once all three EMAs are seeded: their steps inlined (same operation order
        # as ``EMA.update``), on the children's own fields so the state layout is unchanged.
        slow_ema, fast_ema, signal_ema = self._slow, self._fast, self._signal
        slow = slow_ema._value
        fast = fast_ema._value
        signal = signal_ema._value
        slow = slow_ema._value = slow + (x - slow) * slow_ema._k  # type: ignore[operator]
        fast = fast_ema._value = fast + (x - fast) * fast_ema._k  # type: ignore[operator]
        line = fast - slow
        signal = signal_ema._value = signal + (line - signal) * signal_ema._k  # type: ignore[operator]
        values = self._values = (line, signal, line - signal)
        return values

    def _warm(self, x: float) -> tuple[float, float, float] | None:
        slow = self._slow.update(x)
        if self._skip:
            self._skip -= 1
            return None
        fast = self._fast.update(x)
        if slow is None or fast is None:
            return None
        line = fast - slow
        signal = self._signal.update(line)
        if signal is None:
            return None
        values = self._values = (line, signal, line - signal)
        return values

    def to_state(self) -> dict[str, str]:
        """Return the complete state, the three EMAs under ``fast.``, ``slow.``, ``signal.``."""
        return {
            "v": STATE_VERSION,
            "skip": str(self._skip),
            **prefixed(self._fast.to_state(), "fast."),
            **prefixed(self._slow.to_state(), "slow."),
            **prefixed(self._signal.to_state(), "signal."),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Self:
        """Rebuild a MACD from ``to_state()`` output."""
        check_version(state, STATE_VERSION)
        fast = EMA.from_state(substate(state, "fast."))
        slow = EMA.from_state(substate(state, "slow."))
        signal = EMA.from_state(substate(state, "signal."))
        macd = cls(fast.period, slow.period, signal.period)
        macd._fast, macd._slow, macd._signal = fast, slow, signal
        macd._skip = int(state["skip"])
        macd._values = macd._last_values()
        return macd

    def _last_values(self) -> tuple[float, float, float] | None:
        # The signal EMA holds the last signal; the line is recomputed from the two EMAs.
        fast, slow, signal = self._fast.value, self._slow.value, self._signal.value
        if fast is None or slow is None or signal is None:
            return None
        line = fast - slow
        return (line, signal, line - signal)
