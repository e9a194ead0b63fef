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

from dataclasses import dataclass, replace

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
        return replace(current, closed=True) if current is not None else None

    def close_due(self, now: float) -> Bar | None:
        """Close and return the in-progress bar if ``now`` is at or past its end."""
        current = self.current
        if current is None or now < current.time + self.timeframe.seconds:
            return None
        self.current = None
        return replace(current, closed=True)

    def to_state(self) -> dict[str, str]:
        """Return the state as a flat string mapping."""
        state = {"v": STATE_VERSION, "ignored": str(self.ignored)}
        if self.last_tick is not None:
            state["last_tick"] = repr(float(self.last_tick))
        if self.current is not None:
            bar = self.current
            state.update(
                time=str(bar.time),
                open=repr(bar.open),
                high=repr(bar.high),
                low=repr(bar.low),
                close=repr(bar.close),
                volume=repr(bar.volume),
            )
        return state

    @classmethod
    def from_state(cls, symbol: str, timeframe: Timeframe, state: dict[str, str]) -> BarAggregator:
        """Rebuild an aggregator from ``to_state()`` output (an empty mapping starts afresh)."""
        current = None
        if "time" in state:
            current = Bar(
                symbol=symbol,
                timeframe=timeframe,
                time=int(state["time"]),
                open=float(state["open"]),
                high=float(state["high"]),
                low=float(state["low"]),
                close=float(state["close"]),
                volume=float(state["volume"]),
                closed=False,
            )
        last_tick = float(state["last_tick"]) if "last_tick" in state else None
        return cls(symbol, timeframe, current, last_tick, int(state.get("ignored", "0")))

    def _open(self, start: int, quote: Quote) -> Bar:
        price = quote.price
        return Bar(
            self.symbol, self.timeframe, start, price, price, price, price, quote.volume, False
        )


def _extend(bar: Bar, quote: Quote) -> Bar:
    return replace(
        bar,
        high=max(bar.high, quote.price),
        low=min(bar.low, quote.price),
        close=quote.price,
        volume=bar.volume + quote.volume,
    )
