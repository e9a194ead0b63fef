"""Tick-to-bar aggregation, boundary-aligned in UTC.

Rule for ticks (deterministic, so that every worker and a replay agree):
- a tick belongs to the bar starting at ``timeframe.floor(tick.time)``;
- a tick whose time is not later than the last accepted tick is a duplicate or arrived late:
  it is ignored (counted in ``ignored``), whichever bar it would belong to;
- a tick in a later bar closes the in-progress bar (returned once, ``closed=True``) and opens
  a new one with open = high = low = close = the tick's price;
- no bar is ever invented for a period without ticks (gaps stay gaps);
- ``close_due(now)`` closes the in-progress bar once ``now`` is past its end, for feeds that
  go quiet. Volume is the sum of the ticks' volumes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wagehood.types import Bar, Quote, Timeframe

STATE_VERSION = "1"


@dataclass
class BarAggregator:
    """Aggregate quotes of one symbol into bars of one timeframe."""

    symbol: str
    timeframe: Timeframe
    current: Bar | None = None
    last_tick: float | None = None
    ignored: int = 0

    def on_quote(self, quote: Quote) -> Bar | None:
        """Apply ``quote``; return the bar it closed, if any."""
        if self.last_tick is not None and quote.time <= self.last_tick:
            self.ignored += 1
            return None
        self.last_tick = quote.time
        start = self.timeframe.floor(quote.time)
        current = self.current
        if current is not None and start == current.time:
            self.current = _extend(current, quote)
            return None
        self.current = self._open(start, quote)
        return _closed(current) if current is not None else None

    def close_due(self, now: float) -> Bar | None:
        """Close and return the in-progress bar if ``now`` is at or past its end."""
        current = self.current
        if current is None or now < current.time + self.timeframe.seconds:
            return None
        self.current = None
        return _closed(current)

    def to_state(self, prefix: str = "") -> dict[str, str]:
        """Return the state as a flat string mapping, every key under ``prefix``."""
        state = {prefix + "v": STATE_VERSION, prefix + "ignored": str(self.ignored)}
        if self.last_tick is not None:
            state[prefix + "last_tick"] = repr(float(self.last_tick))
        bar = self.current
        if bar is not None:
            state[prefix + "time"] = str(bar.time)
            state[prefix + "open"] = repr(bar.open)
            state[prefix + "high"] = repr(bar.high)
            state[prefix + "low"] = repr(bar.low)
            state[prefix + "close"] = repr(bar.close)
            state[prefix + "volume"] = repr(bar.volume)
        return state

    @classmethod
    def from_state(
        cls, symbol: str, timeframe: Timeframe, state: Mapping[str, str], prefix: str = ""
    ) -> BarAggregator:
        """Rebuild an aggregator from ``to_state(prefix)`` output (no entries: start afresh)."""
        current = None
        start = state.get(prefix + "time")
        if start is not None:
            current = Bar(
                symbol,
                timeframe,
                int(start),
                float(state[prefix + "open"]),
                float(state[prefix + "high"]),
                float(state[prefix + "low"]),
                float(state[prefix + "close"]),
                float(state[prefix + "volume"]),
                False,
            )
        last_tick = state.get(prefix + "last_tick")
        return cls(
            symbol,
            timeframe,
            current,
            None if last_tick is None else float(last_tick),
            int(state.get(prefix + "ignored", "0")),
        )

    def _open(self, start: int, quote: Quote) -> Bar:
        price = quote.price
        return Bar(
            self.symbol, self.timeframe, start, price, price, price, price, quote.volume, False
        )


# One OHLCV row of a vendor or a file: (time, open, high, low, close, volume).
Row = tuple[float, float, float, float, float, float]


def resample(symbol: str, timeframe: Timeframe, rows: Iterable[Row]) -> list[Bar]:
    """Merge rows ascending by time into closed bars starting at ``timeframe.floor(time)``.

    Rows of one bar give its first open, highest high, lowest low, last close and summed
    volume; a row finer than the timeframe is aggregated, one already at it passes through.
    """
    bars: list[Bar] = []
    for time, open_, high, low, close, volume in rows:
        start = timeframe.floor(time)
        if bars and bars[-1].time == start:
            last = bars[-1]
            bars[-1] = Bar(
                symbol,
                timeframe,
                start,
                last.open,
                max(last.high, high),
                min(last.low, low),
                close,
                last.volume + volume,
            )
        else:
            bars.append(Bar(symbol, timeframe, start, open_, high, low, close, volume))
    return bars


# Positional construction: ``dataclasses.replace`` costs several times more, once per tick
# per timeframe per symbol.


def _extend(bar: Bar, quote: Quote) -> Bar:
    price = quote.price
    high = bar.high if bar.high >= price else price
    low = bar.low if bar.low <= price else price
    return Bar(
        bar.symbol,
        bar.timeframe,
        bar.time,
        bar.open,
        high,
        low,
        price,
        bar.volume + quote.volume,
        False,
    )


def _closed(bar: Bar) -> Bar:
    return Bar(
        bar.symbol, bar.timeframe, bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume
    )
