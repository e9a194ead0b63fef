"""Average true range, as TA-Lib's ``ATR``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from wagehood.indicators.base import Source
from wagehood.indicators.sma import check_version, decode_optional, encode_optional

STATE_VERSION = "1"


class ATR:
    """Wilder's average true range.

    Follows TA-Lib ``ATR``: the true range needs the previous close, so the first one is at
    index 1; the first ATR (index ``period``) is the plain mean of the first ``period`` true
    ranges, then ``atr = (atr * (period - 1) + tr) / period`` in that operation order.

    Args:
        period: Smoothing length, at least 1 (``ATR(1)`` is the true range).
    """

    source: ClassVar[Source] = "bar"
    outputs: ClassVar[tuple[str, ...]] = ("",)
    __slots__ = ("_count", "_prev_close", "_total", "_value", "period")

    def __init__(self, period: int = 14) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, was {period}")
        self.period = period
        self._prev_close: float | None = None
        self._count = 0  # true ranges seen while seeding
        self._total = 0.0
        self._value: float | None = None

    def __repr__(self) -> str:
        return f"ATR({self.period})"

    @property
    def warmup(self) -> int:
        """Return how many inputs produce ``None`` before the first value."""
        return self.period

    @property
    def ready(self) -> bool:
        """Return whether the last ``update`` produced a value."""
        return self._value is not None

    def update(self, x: Any) -> float | None:
        """Consume one bar (``high``, ``low``, ``close``) and return the ATR, ``None`` first."""
        high: float = x.high
        low: float = x.low
        prev_close = self._prev_close
        self._prev_close = x.close
        if prev_close is None:
            return None
        # max(high - low, |prev - high|, |prev - low|) without three builtin calls: exact.
        true_range = high - low
        gap = prev_close - high
        if -gap > true_range or gap > true_range:
            true_range = gap if gap > 0.0 else -gap
        gap = prev_close - low
        if -gap > true_range or gap > true_range:
            true_range = gap if gap > 0.0 else -gap
        value = self._value
        if value is not None:
            period = self.period
            value = self._value = (value * (period - 1) + true_range) / period
            return value
        self._total += true_range
        self._count += 1
        if self._count < self.period:
            return None
        value = self._value = self._total / self.period
        return value

    def to_state(self) -> dict[str, str]:
        """Return the complete state as a flat string mapping."""
        return {
            "v": STATE_VERSION,
            "period": str(self.period),
            "prev_close": encode_optional(self._prev_close),
            "count": str(self._count),
            "total": repr(self._total),
            "value": encode_optional(self._value),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Self:
        """Rebuild an ATR from ``to_state()`` output."""
        check_version(state, STATE_VERSION)
        atr = cls(int(state["period"]))
        atr._prev_close = decode_optional(state["prev_close"])
        atr._count = int(state["count"])
        atr._total = float(state["total"])
        atr._value = decode_optional(state["value"])
        return atr
