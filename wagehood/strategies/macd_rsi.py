"""MACD signal-line crossings confirmed by RSI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from wagehood.strategies.common import (
    check_float,
    check_int,
    check_less,
    column,
    crossed_above,
    crossed_below,
    emit,
    finite,
    read,
    ready,
    unit,
)
from wagehood.types import Side, Signal, Snapshot


class MACDRSIStrategy:
    """Trade MACD crossings of its signal line when RSI confirms them.

    Rule, on the bar that just closed (``history[-1]``, "now"):

    - BUY when MACD crosses above its signal line (``macd <= signal`` on ``history[-2]``,
      ``macd > signal`` now) and RSI confirms either by an *oversold exit* (RSI was below
      ``oversold`` on one of the ``recent_bars`` bars before now and is at or above it now)
      or by *momentum* (RSI above 50 and the MACD histogram positive).
    - SELL symmetrically: MACD crosses below its signal line and RSI either left the
      overbought zone (above ``overbought`` on a recent bar, at or below it now) or is below
      50 with a negative histogram.

    Confidence: a base of 0.5 for an oversold/overbought exit or 0.4 for momentum; plus up to
    0.3 for RSI strength (for an exit, how far past the threshold RSI went, 10 points = full;
    for momentum, RSI's distance from 50, 20 points = full); plus 0.2 when the cross happens
    on the far side of the zero line (a buy with MACD below 0, a sell with MACD above 0).

    Args:
        fast: MACD fast EMA period.
        slow: MACD slow EMA period (greater than ``fast``).
        signal: MACD signal-line EMA period.
        rsi_period: RSI period.
        oversold: RSI level a buy's oversold exit leaves (0 < oversold < 50).
        overbought: RSI level a sell's overbought exit leaves (50 < overbought < 100).
        recent_bars: how many bars before now count as "recently" for an exit.
        min_confidence: signals below this confidence are not emitted.
    """

    name: ClassVar[str] = "macd_rsi"

    def __init__(
        self,
        *,
        fast: int = 12,
        slow: int = 26,
        signal: int = 9,
        rsi_period: int = 14,
        oversold: float = 30.0,
        overbought: float = 70.0,
        recent_bars: int = 5,
        min_confidence: float = 0.0,
    ) -> None:
        self.fast = check_int("fast", fast, minimum=1)
        self.slow = check_int("slow", slow, minimum=2)
        check_less("fast", self.fast, "slow", self.slow)
        self.signal = check_int("signal", signal, minimum=1)
        self.rsi_period = check_int("rsi_period", rsi_period, minimum=1)
        self.oversold = check_float("oversold", oversold, minimum=0.0, maximum=50.0)
        self.overbought = check_float("overbought", overbought, minimum=50.0, maximum=100.0)
        check_less("oversold", self.oversold, "overbought", self.overbought)
        self.recent_bars = check_int("recent_bars", recent_bars, minimum=1)
        self.min_confidence = check_float("min_confidence", min_confidence, minimum=0, maximum=1)
        self._macd, self._macd_spec = column("macd", self.fast, self.slow, self.signal)
        self._rsi, self._rsi_spec = column("rsi", self.rsi_period)

    @property
    def indicators(self) -> Mapping[str, str]:
        """Return the MACD and RSI columns this strategy reads."""
        return {self._macd: self._macd_spec, self._rsi: self._rsi_spec}

    @property
    def lookback(self) -> int:
        """Return ``recent_bars + 1``: the recent RSI bars and now."""
        return self.recent_bars + 1

    def evaluate(self, history: Sequence[Snapshot]) -> Signal | None:
        """Return a BUY/SELL signal on a confirmed MACD cross at ``history[-1]``, else ``None``."""
        if not ready(history, self.lookback):
            return None
        lines = [self._macd, f"{self._macd}_signal"]
        before = read(history[-2], lines)
        now = read(history[-1], [*lines, f"{self._macd}_hist", self._rsi])
        if before is None or now is None:
            return None
        macd, signal, hist, rsi = now.values()
        previous = (before[lines[0]], before[lines[1]])
        if crossed_above(*previous, macd, signal):
            return self._confirm(history, Side.BUY, now, hist > 0 and rsi > 50)
        if crossed_below(*previous, macd, signal):
            return self._confirm(history, Side.SELL, now, hist < 0 and rsi < 50)
        return None

    def _confirm(
        self,
        history: Sequence[Snapshot],
        side: Side,
        now: dict[str, float],
        momentum: bool,
    ) -> Signal | None:
        rsi = now[self._rsi]
        extreme = self._recent_extreme(history, side)
        buy = side is Side.BUY
        if extreme is not None and (rsi >= self.oversold if buy else rsi <= self.overbought):
            depth = self.oversold - extreme if buy else extreme - self.overbought
            base, strength = 0.5, unit(depth / 10)
            zone = "oversold" if buy else "overbought"
            why = f"out of {zone} (RSI {extreme:.1f} -> {rsi:.1f})"
        elif momentum:
            base, strength = 0.4, unit(abs(rsi - 50) / 20)
            why = f"with RSI {rsi:.1f} {'above' if buy else 'below'} 50 and the histogram agreeing"
        else:
            return None
        far_side = now[self._macd] < 0 if buy else now[self._macd] > 0
        confidence = base + 0.3 * strength + (0.2 if far_side else 0.0)
        direction = "above" if buy else "below"
        reason = f"MACD crossed {direction} its signal line {why}"
        return emit(
            history[-1],
            side,
            self.name,
            self.min_confidence,
            confidence=confidence,
            reason=reason,
            values=now,
        )

    # The most extreme RSI beyond the threshold over the recent bars before now, if any.
    def _recent_extreme(self, history: Sequence[Snapshot], side: Side) -> float | None:
        window = [finite(s.get(self._rsi)) for s in history[-self.recent_bars - 1 : -1]]
        values = [v for v in window if v is not None]
        if side is Side.BUY:
            low = min(values, default=None)
            return low if low is not None and low < self.oversold else None
        high = max(values, default=None)
        return high if high is not None and high > self.overbought else None
