"""Session volume-weighted average price, reset at each UTC midnight."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from wagehood.indicators.base import Source
from wagehood.indicators.sma import check_version, decode_optional, encode_optional

STATE_VERSION = "1"
SECONDS_PER_DAY = 86400


class VWAP:
    """Volume-weighted average of the typical price ``(high + low + close) / 3`` per session.

    A session is a UTC calendar day of the bar's ``time`` (epoch seconds): the running sums
    of ``typical * volume`` and ``volume`` restart when the date changes. While the session's
    volume is still zero the value is the bar's typical price. TA-Lib has no VWAP; the tests
    pin this one against a straightforward numpy reference (cumulative sums per UTC day).
    There is no warm-up.
    """

    source: ClassVar[Source] = "bar"
    outputs: ClassVar[tuple[str, ...]] = ("",)
    __slots__ = ("_day", "_price_volume", "_value", "_volume")

    def __init__(self) -> None:
        self._day: int | None = None
        self._price_volume = 0.0
        self._volume = 0.0
        self._value: float | None = None

    def __repr__(self) -> str:
        return "VWAP()"

    @property
    def warmup(self) -> int:
        """Return how many inputs produce ``None`` before the first value (none)."""
        return 0

    @property
    def ready(self) -> bool:
        """Return whether the last ``update`` produced a value."""
        return self._value is not None

    def update(self, x: Any) -> float:
        """Consume one bar (``time``, ``high``, ``low``, ``close``, ``volume``); return VWAP."""
        day = int(x.time // SECONDS_PER_DAY)
        typical = (x.high + x.low + x.close) / 3
        volume = x.volume
        if day != self._day:
            self._day, self._price_volume, self._volume = day, 0.0, 0.0
        self._price_volume += typical * volume
        self._volume += volume
        value = self._price_volume / self._volume if self._volume else typical
        self._value = value
        return value

    def to_state(self) -> dict[str, str]:
        """Return the complete state as a flat string mapping."""
        return {
            "v": STATE_VERSION,
            "day": "" if self._day is None else str(self._day),
            "price_volume": repr(self._price_volume),
            "volume": repr(self._volume),
            "value": encode_optional(self._value),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Self:
        """Rebuild a VWAP from ``to_state()`` output."""
        check_version(state, STATE_VERSION)
        vwap = cls()
        vwap._day = int(state["day"]) if state["day"] else None
        vwap._price_volume = float(state["price_volume"])
        vwap._volume = float(state["volume"])
        vwap._value = decode_optional(state["value"])
        return vwap
