"""Golden and death crosses of two exponential moving averages."""

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
    read,
    ready,
    unit,
)
from wagehood.types import Side, Signal, Snapshot


class MACrossoverStrategy:
    """Trade the crossing of a fast EMA over a slow EMA.

    Rule, on the bar that just closed (``history[-1]``, "now"):

    - BUY on a golden cross: the fast EMA was at or below the slow EMA on ``history[-2]`` and
      is strictly above it now.
    - SELL on a death cross: the fast EMA was at or above the slow EMA and is strictly below.
    - Only the crossing bar fires; the bars after it, on the same side, are quiet.

    Confidence: 0.5, plus 0.25 when the slow EMA itself moved in the signal's direction on
    this bar (the long trend agrees), plus up to 0.25 for the close's distance beyond the
    slow EMA on the signal's side (2% of the slow EMA -> full, the wrong side -> 0).

    Args:
        fast: fast EMA period.
        slow: slow EMA period (greater than ``fast``).
        min_confidence: signals below this confidence are not emitted.
    """

    name: ClassVar[str] = "ma_crossover"

    def __init__(self, *, fast: int = 50, slow: int = 200, min_confidence: float = 0.0) -> None:
        self.fast = check_int("fast", fast, minimum=1)
        self.slow = check_int("slow", slow, minimum=2)
        check_less("fast", self.fast, "slow", self.slow)
        self.min_confidence = check_float("min_confidence", min_confidence, minimum=0, maximum=1)
        self._fast, self._fast_spec = column("ema", self.fast)
        self._slow, self._slow_spec = column("ema", self.slow)

    @property
    def indicators(self) -> Mapping[str, str]:
        """Return the fast and slow EMA columns."""
        return {self._fast: self._fast_spec, self._slow: self._slow_spec}

    @property
    def lookback(self) -> int:
        """Return 2: the previous bar and now."""
        return 2

    def evaluate(self, history: Sequence[Snapshot]) -> Signal | None:
        """Return a signal on the bar where the fast EMA crosses the slow one, else ``None``."""
        if not ready(history, self.lookback):
            return None
        names = [self._fast, self._slow]
        before, now = read(history[-2], names), read(history[-1], names)
        if before is None or now is None:
            return None
        lines = (before[self._fast], before[self._slow], now[self._fast], now[self._slow])
        if crossed_above(*lines):
            side = Side.BUY
        elif crossed_below(*lines):
            side = Side.SELL
        else:
            return None
        sign = 1.0 if side is Side.BUY else -1.0
        slow_now, slow_before = now[self._slow], before[self._slow]
        trend = 0.25 if sign * (slow_now - slow_before) > 0 else 0.0
        distance = sign * (history[-1].bar.close - slow_now) / abs(slow_now) if slow_now else 0.0
        confidence = 0.5 + trend + 0.25 * unit(distance / 0.02)
        cross = "Golden" if side is Side.BUY else "Death"
        direction = "above" if side is Side.BUY else "below"
        reason = f"{cross} cross: EMA({self.fast}) crossed {direction} EMA({self.slow})"
        return emit(
            history[-1],
            side,
            self.name,
            self.min_confidence,
            confidence=confidence,
            reason=reason,
            values=now,
        )
