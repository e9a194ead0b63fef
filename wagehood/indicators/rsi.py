"""Relative strength index, as TA-Lib's ``RSI``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Self

from wagehood.indicators.base import Source
from wagehood.indicators.sma import check_version, decode_optional, encode_optional

STATE_VERSION = "1"


class RSI:
    """Wilder's relative strength index, 0 to 100.

    Follows TA-Lib ``RSI`` (classic, not Metastock): average gain and loss seeded with the
    plain mean of the first ``period`` changes, then Wilder smoothing
    ``avg = (avg * (period - 1) + change) / period``; the value is
    ``100 * gain / (gain + loss)``. When ``gain + loss`` is exactly zero (a flat start, or
    averages decayed to nothing over a very long flat stretch) the previous value is kept,
    0 if there is none, as TA-Lib 0.6+ does. The first value comes at index ``period``; a
    series that only rises gives 100.

    Values agree with TA-Lib to about 1e-13 but not always bit for bit, so after thousands
    of identical closes, once both averages have decayed into subnormal doubles, the
    last-bit differences are magnified and the value may drift from TA-Lib's (real prices
    never stay unchanged that long).

    Args:
        period: Smoothing length, at least 2 (TA-Lib's minimum).
    """

    source: ClassVar[Source] = "close"
    outputs: ClassVar[tuple[str, ...]] = ("",)
    __slots__ = ("_count", "_gain", "_loss", "_prev", "_value", "period")

    def __init__(self, period: int = 14) -> None:
        if period < 2:
            raise ValueError(f"period must be >= 2, was {period}")
        self.period = period
        self._prev: float | None = None
        self._count = 0  # changes seen, capped at ``period``
        self._gain = 0.0
        self._loss = 0.0
        self._value: float | None = None

    def __repr__(self) -> str:
        return f"RSI({self.period})"

    @property
    def warmup(self) -> int:
        """Return how many inputs produce ``None`` before the first value."""
        return self.period

    @property
    def ready(self) -> bool:
        """Return whether the last ``update`` produced a value."""
        return self._value is not None

    def update(self, x: float) -> float | None:
        """Consume one close and return the RSI, ``None`` until ``period`` changes are seen."""
        prev = self._prev
        self._prev = x
        if prev is None:
            return None
        change = x - prev
        period = self.period
        if self._count < period:
            return self._seed(change)
        # TA-Lib order: scale both averages, add the change to one, divide both.
        loss = self._loss * (period - 1)
        gain = self._gain * (period - 1)
        if change < 0.0:
            loss -= change
        else:
            gain += change
        loss /= period
        gain /= period
        self._loss, self._gain = loss, gain
        total = gain + loss
        value = self._value = 100.0 * (gain / total) if total else self._value or 0.0
        return value

    def _seed(self, change: float) -> float | None:
        # The first ``period`` changes are summed, then divided once.
        if change < 0.0:
            self._loss -= change
        else:
            self._gain += change
        self._count += 1
        if self._count < self.period:
            return None
        loss = self._loss = self._loss / self.period
        gain = self._gain = self._gain / self.period
        total = gain + loss
        value = self._value = 100.0 * (gain / total) if total else self._value or 0.0
        return value

    def to_state(self) -> dict[str, str]:
        """Return the complete state as a flat string mapping."""
        return {
            "v": STATE_VERSION,
            "period": str(self.period),
            "prev": encode_optional(self._prev),
            "count": str(self._count),
            "gain": repr(self._gain),
            "loss": repr(self._loss),
            "value": encode_optional(self._value),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Self:
        """Rebuild an RSI from ``to_state()`` output."""
        check_version(state, STATE_VERSION)
        rsi = cls(int(state["period"]))
        rsi._prev = decode_optional(state["prev"])
        rsi._count = int(state["count"])
        rsi._gain = float(state["gain"])
        rsi._loss = float(state["loss"])
        rsi._value = decode_optional(state["value"])
        return rsi
