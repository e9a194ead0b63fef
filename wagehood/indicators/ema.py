"""Exponential moving average, as TA-Lib's ``EMA``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Self

from wagehood.indicators.base import Source
from wagehood.indicators.sma import check_version, decode_optional, encode_optional

STATE_VERSION = "1"


class EMA:
    """Exponential moving average with ``k = 2 / (period + 1)``.

    Follows TA-Lib ``EMA`` (default compatibility): seeded with the SMA of the first
    ``period`` inputs (summed in order, then divided), then ``prev + (x - prev) * k``, the
    exact operation order TA-Lib uses. The first value comes at index ``period - 1``.

    Args:
        period: Smoothing length, at least 1.
    """

    source: ClassVar[Source] = "close"
    outputs: ClassVar[tuple[str, ...]] = ("",)
    __slots__ = ("_count", "_k", "_total", "_value", "period")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, was {period}")
        self.period = period
        self._k = 2.0 / (period + 1)
        self._count = 0
        self._total = 0.0
        self._value: float | None = None

    def __repr__(self) -> str:
        return f"EMA({self.period})"

    @property
    def warmup(self) -> int:
        """Return how many inputs produce ``None`` before the first value."""
        return self.period - 1

    @property
    def ready(self) -> bool:
        """Return whether the last ``update`` produced a value."""
        return self._value is not None

    @property
    def value(self) -> float | None:
        """Return the last value, ``None`` while seeding."""
        return self._value

    def update(self, x: float) -> float | None:
        """Consume one close and return the new average, ``None`` while seeding."""
        value = self._value
        if value is not None:
            value = value + (x - value) * self._k
            self._value = value
            return value
        self._total += x
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
            "count": str(self._count),
            "total": repr(self._total),
            "value": encode_optional(self._value),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Self:
        """Rebuild an EMA from ``to_state()`` output."""
        check_version(state, STATE_VERSION)
        ema = cls(int(state["period"]))
        ema._count = int(state["count"])
        ema._total = float(state["total"])
        ema._value = decode_optional(state["value"])
        return ema
