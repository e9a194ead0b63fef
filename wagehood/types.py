"""Domain value types: bars, quotes, signals, timeframes and sides.

Times are integer or float seconds since the Unix epoch, always UTC.
"""

from __future__ import annotations

import re
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from wagehood.errors import ValidationError

SYMBOL_PATTERN = re.compile(r"^\^?[A-Z0-9][A-Z0-9.\-=]{0,18}$")


class Timeframe(str, Enum):
    """Bar length; the value is what appears in JSON, Redis keys and URLs."""

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"

    @property
    def seconds(self) -> int:
        """Return the bar length in seconds."""
        return _TIMEFRAME_SECONDS[self]

    def floor(self, time: float) -> int:
        """Return the start of the bar that contains ``time`` (UTC-aligned)."""
        length = self.seconds
        return int(time // length) * length

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        """Parse a timeframe such as ``"5m"``; raise ``ValidationError`` naming the choices."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            choices = ", ".join(tf.value for tf in cls)
            raise ValidationError(
                f"unknown timeframe {text!r}; choose one of {choices}", field="timeframe"
            ) from None


_TIMEFRAME_SECONDS = {
    Timeframe.M1: 60,
    Timeframe.M5: 300,
    Timeframe.M15: 900,
    Timeframe.M30: 1800,
    Timeframe.H1: 3600,
    Timeframe.H4: 14400,
    Timeframe.D1: 86400,
}


class Side(str, Enum):
    """Direction of a signal."""

    BUY = "buy"
    SELL = "sell"


def validate_symbol(text: str) -> str:
    """Return ``text`` as a canonical upper-case symbol or raise ``ValidationError``.

    Symbols are 1-20 characters of A-Z, 0-9 and ``. - =`` starting with a letter or digit,
    optionally after one leading ``^`` for indices (``BRK.B``, ``^GSPC``, ``EURUSD=X``).
    """
    symbol = text.strip().upper() if isinstance(text, str) else ""
    if not SYMBOL_PATTERN.match(symbol):
        raise ValidationError(
            f"invalid symbol {text!r}: use 1-20 characters A-Z, 0-9, '.', '-', '=' (an index may start with '^')",
            field="symbol",
        )
    return symbol


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar starting at ``time`` (epoch seconds, UTC)."""

    symbol: str
    timeframe: Timeframe
    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool = True

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready mapping (ISO 8601 time)."""
        return {
            "time": iso_time(self.time),
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
            "closed": self.closed,
        }


@dataclass(frozen=True, slots=True)
class Quote:
    """A trade print: price at ``time`` and the volume traded since the previous quote."""

    symbol: str
    time: float
    price: float
    volume: float = 0.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A closed bar together with the indicator values computed on it."""

    bar: Bar
    values: Mapping[str, float | None]

    def get(self, name: str) -> float | None:
        """Return indicator ``name`` or ``None`` when absent or still warming up."""
        return self.values.get(name)


@dataclass(frozen=True, slots=True)
class Signal:
    """A strategy's decision on a closed bar."""

    symbol: str
    timeframe: Timeframe
    time: int
    strategy: str
    side: Side
    confidence: float
    price: float
    reason: str
    values: Mapping[str, float | None] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Return a stable identity: one signal per symbol, timeframe, bar and strategy."""
        return f"{self.symbol}:{self.timeframe.value}:{self.time}:{self.strategy}"

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready mapping."""
        return {
            "id": self.id,
            "symbol": self.symbol,
            "timeframe": self.timeframe.value,
            "timestamp": iso_time(self.time),
            "time": self.time,
            "strategy": self.strategy,
            "signal_type": self.side.value.upper(),
            "side": self.side.value,
            "confidence": self.confidence,
            "price": self.price,
            "reason": self.reason,
            "values": dict(self.values),
        }


def iso_time(time: float) -> str:
    """Format epoch seconds as ISO 8601 UTC with a ``Z`` suffix."""
    if not time % 1:  # whole seconds (every bar): strftime is several times faster
        return _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime(time))
    moment = datetime.fromtimestamp(time, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
