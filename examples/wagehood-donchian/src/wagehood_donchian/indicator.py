"""Donchian channel: the highest high and lowest low of the last ``period`` bars."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar

from wagehood.plugins import INTERFACE_VERSION, Source


class Donchian:
    """Donchian channel over ``period`` bars, as TA-Lib's ``MAX(high)`` / ``MIN(low)``.

    Outputs, as columns ``<name>_upper``, ``<name>_middle``, ``<name>_lower``: the highest
    high, the mid-point and the lowest low of the last ``period`` bars, the current one
    included. The first value comes at index ``period - 1``.

    Args:
        period: number of bars in the window, at least 1.
    """

    name: ClassVar[str] = "donchian"
    interface_version: ClassVar[int] = INTERFACE_VERSION
    source: ClassVar[Source] = "bar"
    outputs: ClassVar[tuple[str, ...]] = ("_upper", "_middle", "_lower")
    parameters: ClassVar[tuple[tuple[str, type, float | None], ...]] = (("period", int, 20),)

    def __init__(self, period: int = 20) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, was {period}")
        self.period = period
        self._highs: deque[float] = deque(maxlen=period)
        self._lows: deque[float] = deque(maxlen=period)

    def __repr__(self) -> str:
        return f"Donchian({self.period})"

    @property
    def warmup(self) -> int:
        """Return how many bars give ``None`` before the first value."""
        return self.period - 1

    @property
    def ready(self) -> bool:
        """Return whether the window is full."""
        return len(self._highs) == self.period

    def update(self, bar: Any) -> tuple[float, float, float] | None:
        """Consume one closed bar; return ``(upper, middle, lower)`` or ``None`` while warming."""
        self._highs.append(bar.high)
        self._lows.append(bar.low)
        if len(self._highs) < self.period:
            return None
        upper, lower = max(self._highs), min(self._lows)
        return upper, (upper + lower) / 2, lower

    def to_state(self) -> dict[str, str]:
        """Return the complete state as a flat string mapping (floats via ``repr``)."""
        return {
            "v": "1",
            "period": str(self.period),
            "highs": ",".join(map(repr, self._highs)),
            "lows": ",".join(map(repr, self._lows)),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Donchian:
        """Rebuild the channel from ``to_state()`` output."""
        if state.get("v") != "1":
            raise ValueError(f"unsupported state version {state.get('v')!r}")
        channel = cls(int(state["period"]))
        channel._highs.extend(float(x) for x in state["highs"].split(",") if x)
        channel._lows.extend(float(x) for x in state["lows"].split(",") if x)
        return channel
