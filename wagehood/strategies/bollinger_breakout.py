"""Bollinger Band breakouts out of a consolidation, on rising volume."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

from wagehood.strategies.common import (
    check_float,
    check_int,
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


class BollingerBreakoutStrategy:
    """Trade a close beyond a Bollinger Band after the bands have been narrow.

    Rule, on the bar that just closed (``history[-1]``, "now"):

    - Breakout: BUY when the close crosses above the upper band (close at or below the upper
      band on the previous bar, above it now); SELL when it crosses below the lower band.
      Only the crossing bar fires; bars that stay beyond the band are quiet.
    - Consolidation: the relative band width ``(upper - lower) / middle`` of the bar before
      now is at or below the ``squeeze_percentile``-th percentile (nearest rank) of the
      widths of the ``squeeze_bars`` bars before now, or at or below ``max_width`` when set.
    - Volume: now's volume is at least ``volume_factor`` times the average volume of the
      ``volume_bars`` bars *before* now (never now or later bars); ``0`` disables the filter.

    Confidence: 0.4, plus up to 0.3 for volume (volume ratio 1x -> 0, 3x or more -> full),
    plus up to 0.3 for the penetration (distance of the close beyond the band, one band
    half-width ``upper - middle`` -> full).

    Args:
        period: Bollinger moving-average period.
        std_dev: band distance in standard deviations.
        squeeze_bars: bars before now whose band widths define the consolidation.
        squeeze_percentile: percentile (0-100) the previous bar's width must not exceed.
        max_width: optional absolute relative-width threshold that also counts as narrow.
        volume_bars: bars before now whose average volume is the reference.
        volume_factor: required ratio of now's volume to that average (0 = no filter).
        min_confidence: signals below this confidence are not emitted.
    """

    name: ClassVar[str] = "bollinger_breakout"

    def __init__(
        self,
        *,
        period: int = 20,
        std_dev: float = 2.0,
        squeeze_bars: int = 50,
        squeeze_percentile: float = 20.0,
        max_width: float | None = None,
        volume_bars: int = 20,
        volume_factor: float = 1.5,
        min_confidence: float = 0.0,
    ) -> None:
        self.period = check_int("period", period, minimum=2)
        self.std_dev = check_float("std_dev", std_dev, minimum=0.01, maximum=10.0)
        self.squeeze_bars = check_int("squeeze_bars", squeeze_bars, minimum=1)
        self.squeeze_percentile = check_float(
            "squeeze_percentile", squeeze_percentile, minimum=0, maximum=100
        )
        self.max_width = (
            None
            if max_width is None
            else check_float("max_width", max_width, minimum=0, maximum=10)
        )
        self.volume_bars = check_int("volume_bars", volume_bars, minimum=1)
        self.volume_factor = check_float("volume_factor", volume_factor, minimum=0, maximum=100)
        self.min_confidence = check_float("min_confidence", min_confidence, minimum=0, maximum=1)
        self._bands, self._spec = column("bbands", self.period, self.std_dev)
        self._upper = f"{self._bands}_upper"
        self._middle = f"{self._bands}_middle"
        self._lower = f"{self._bands}_lower"

    @property
    def indicators(self) -> Mapping[str, str]:
        """Return the Bollinger Bands column prefix and its spec."""
        return {self._bands: self._spec}

    @property
    def lookback(self) -> int:
        """Return the longer of the squeeze and volume windows, plus now."""
        return max(self.squeeze_bars, self.volume_bars) + 1

    def evaluate(self, history: Sequence[Snapshot]) -> Signal | None:
        """Return a signal on the bar whose close first crosses a band after a squeeze."""
        if not ready(history, self.lookback):
            return None
        names = [self._upper, self._middle, self._lower]
        before, now = read(history[-2], names), read(history[-1], names)
        if before is None or now is None:
            return None
        close, previous = history[-1].bar.close, history[-2].bar.close
        if crossed_above(previous, before[self._upper], close, now[self._upper]):
            side, penetration = Side.BUY, close - now[self._upper]
        elif crossed_below(previous, before[self._lower], close, now[self._lower]):
            side, penetration = Side.SELL, now[self._lower] - close
        else:
            return None
        ratio = self._volume_ratio(history)
        if ratio < self.volume_factor or not self._squeezed(history):
            return None
        half_width = now[self._upper] - now[self._middle]
        depth = penetration / half_width if half_width > 0 else 1.0
        confidence = 0.4 + 0.3 * unit((ratio - 1) / 2) + 0.3 * unit(depth)
        band = "upper" if side is Side.BUY else "lower"
        reason = f"Close broke the {band} Bollinger Band after a squeeze on {ratio:.1f}x volume"
        values: dict[str, float | None] = {**now, "volume_ratio": round(ratio, 4)}
        return emit(
            history[-1],
            side,
            self.name,
            self.min_confidence,
            confidence=confidence,
            reason=reason,
            values=values,
        )

    # Now's volume over the average of the volume_bars bars strictly before now.
    def _volume_ratio(self, history: Sequence[Snapshot]) -> float:
        earlier = [s.bar.volume for s in history[-self.volume_bars - 1 : -1]]
        average = sum(earlier) / len(earlier)
        volume = history[-1].bar.volume
        if average > 0:
            return volume / average
        return float("inf") if volume > 0 else 0.0

    def _squeezed(self, history: Sequence[Snapshot]) -> bool:
        widths = [self._width(s) for s in history[-self.squeeze_bars - 1 : -1]]
        known = [w for w in widths if w is not None]
        if len(known) < len(widths):
            return False
        last = known[-1]
        if self.max_width is not None and last <= self.max_width:
            return True
        rank = max(1, math.ceil(len(known) * self.squeeze_percentile / 100))
        return last <= sorted(known)[rank - 1]

    def _width(self, snapshot: Snapshot) -> float | None:
        upper, middle = finite(snapshot.get(self._upper)), finite(snapshot.get(self._middle))
        lower = finite(snapshot.get(self._lower))
        if upper is None or middle is None or lower is None or middle <= 0:
            return None
        return (upper - lower) / middle
