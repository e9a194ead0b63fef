"""On-balance volume, as TA-Lib's ``OBV``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from wagehood.indicators.base import Source
from wagehood.indicators.sma import check_version, decode_optional, encode_optional

STATE_VERSION = "1"


class OBV:
    """Running volume, added on up closes and subtracted on down closes.

    Follows TA-Lib ``OBV``: the first value is the first bar's volume (no warm-up); after
    that a close above the previous adds the bar's volume, a close below subtracts it and an
    unchanged close leaves the total as it is.
    """

    source: ClassVar[Source] = "bar"
    outputs: ClassVar[tuple[str, ...]] = ("",)
    __slots__ = ("_prev_close", "_value")

    def __init__(self) -> None:
        self._prev_close: float | None = None
        self._value: float | None = None

    def __repr__(self) -> str:
        return "OBV()"

    @property
    def warmup(self) -> int:
        """Return how many inputs produce ``None`` before the first value (none)."""
        return 0

    @property
    def ready(self) -> bool:
        """Return whether the last ``update`` produced a value."""
        return self._value is not None

    def update(self, x: Any) -> float:
        """Consume one bar (``close``, ``volume``) and return the running total."""
        close = x.close
        prev, value = self._prev_close, self._value
        self._prev_close = close
        if value is None or prev is None:
            value = float(x.volume)
        elif close > prev:
            value += x.volume
        elif close < prev:
            value -= x.volume
        self._value = value
        return value

    def to_state(self) -> dict[str, str]:
        """Return the complete state as a flat string mapping."""
        return {
            "v": STATE_VERSION,
            "prev_close": encode_optional(self._prev_close),
            "value": encode_optional(self._value),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Self:
        """Rebuild an OBV from ``to_state()`` output."""
        check_version(state, STATE_VERSION)
        obv = cls()
        obv._prev_close = decode_optional(state["prev_close"])
        obv._value = decode_optional(state["value"])
        return obv
