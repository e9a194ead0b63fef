"""Breaks of support and resistance levels found from past pivot highs and lows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from wagehood.strategies.common import bar_values, check_float, check_int, emit, ready, unit
from wagehood.types import Bar, Side, Signal, Snapshot


@dataclass(frozen=True, slots=True)
class Level:
    """A price level: the mean of the pivot prices grouped into it, and how many there were."""

    price: float
    touches: int


class SupportResistanceStrategy:
    """Trade the close that crosses a support or resistance level touched at least twice.

    Rule, on the bar that just closed (``history[-1]``, "now"):

    - Pivots are found among the ``window - 1`` bars before now: a pivot high is a bar whose
      high is above the ``strength`` bars before it and at or above the ``strength`` bars
      after it (a pivot low mirrors it with lows). The bars after a pivot are all before now,
      so every level is known before the bar that crosses it.
    - Pivot prices (highs and lows together) are sorted and grouped while within
      ``tolerance`` (a fraction, 0.005 = 0.5%) of the group's lowest price; a group with at
      least ``min_touches`` pivots is a level at their mean price.
    - BUY when the close crosses above a level (previous close at or below it, this close
      above it: a resistance break); SELL when it crosses below one (previous close at or
      above it, this close below: a support break). Bars that stay beyond a level are quiet.
      When a bar crosses several levels, the most touched (then the nearest) one is reported.

    Confidence: 0.3, plus up to 0.4 for the level's touches (2 -> 0.1, 5 or more -> full),
    plus up to 0.3 for the penetration (close beyond the level by twice the tolerance -> full).

    Args:
        window: bars scanned for pivots, now included (at least ``2 * strength + 2``).
        strength: bars required on each side of a pivot.
        tolerance: relative distance within which pivot prices form one level.
        min_touches: pivots needed for a level.
        min_confidence: signals below this confidence are not emitted.
    """

    name: ClassVar[str] = "support_resistance"

    def __init__(
        self,
        *,
        window: int = 50,
        strength: int = 3,
        tolerance: float = 0.005,
        min_touches: int = 2,
        min_confidence: float = 0.0,
    ) -> None:
        self.strength = check_int("strength", strength, minimum=1)
        self.window = check_int("window", window, minimum=2 * self.strength + 2)
        self.tolerance = check_float("tolerance", tolerance, minimum=0, maximum=0.5)
        self.min_touches = check_int("min_touches", min_touches, minimum=1)
        self.min_confidence = check_float("min_confidence", min_confidence, minimum=0, maximum=1)

    @property
    def indicators(self) -> Mapping[str, str]:
        """Return no columns: this strategy reads only the bars."""
        return {}

    @property
    def lookback(self) -> int:
        """Return ``window``: the bars scanned for pivots, now included."""
        return self.window

    def evaluate(self, history: Sequence[Snapshot]) -> Signal | None:
        """Return a signal on the bar whose close crosses a level, else ``None``."""
        if not ready(history, self.lookback):
            return None
        window = history[-self.window :]
        highs, lows = bar_values(window, "high"), bar_values(window, "low")
        previous, close = bar_values(window[-2:], "close")
        levels = self._levels(self._pivots(highs[:-1], lows[:-1]))
        if close > previous:
            side, crossed = Side.BUY, [lv for lv in levels if previous <= lv.price < close]
        elif close < previous:
            side, crossed = Side.SELL, [lv for lv in levels if previous >= lv.price > close]
        else:
            return None
        if not crossed:
            return None
        level = max(crossed, key=lambda lv: (lv.touches, -abs(close - lv.price)))
        return self._signal(history[-1], side, level)

    def levels(self, bars: Sequence[Bar]) -> list[Level]:
        """Return the levels (at least ``min_touches`` pivots) found in ``bars``."""
        return self._levels(self._pivots([b.high for b in bars], [b.low for b in bars]))

    def _levels(self, pivots: list[float]) -> list[Level]:
        groups: list[list[float]] = []
        for price in sorted(pivots):
            if groups and price - groups[-1][0] <= self.tolerance * abs(groups[-1][0]):
                groups[-1].append(price)
            else:
                groups.append([price])
        return [
            Level(sum(group) / len(group), len(group))
            for group in groups
            if len(group) >= self.min_touches
        ]

    # Pivot highs and lows whose strength bars on both sides lie inside the window. A pivot is
    # first of all above (below) its two neighbours: that test, two comparisons, rules out
    # most bars before the slices are taken. A close scans the whole window.
    def _pivots(self, highs: list[float], lows: list[float]) -> list[float]:
        s = self.strength
        pivots: list[float] = []
        for i in range(s, len(highs) - s):
            high = highs[i]
            if (
                high > highs[i - 1]
                and high >= highs[i + 1]
                and high > max(highs[i - s : i])
                and high >= max(highs[i + 1 : i + s + 1])
            ):
                pivots.append(high)
            low = lows[i]
            if (
                low < lows[i - 1]
                and low <= lows[i + 1]
                and low < min(lows[i - s : i])
                and low <= min(lows[i + 1 : i + s + 1])
            ):
                pivots.append(low)
        return pivots

    def _signal(self, snapshot: Snapshot, side: Side, level: Level) -> Signal | None:
        close = snapshot.bar.close
        band = 2 * self.tolerance * abs(level.price)
        penetration = unit(abs(close - level.price) / band) if band > 0 else 1.0
        confidence = 0.3 + 0.4 * unit((level.touches - 1) / 4) + 0.3 * penetration
        kind, move = ("resistance", "above") if side is Side.BUY else ("support", "below")
        reason = f"Close crossed {move} {kind} at {level.price:.4g} ({level.touches} touches)"
        values = {"level": level.price, "touches": float(level.touches)}
        return emit(
            snapshot,
            side,
            self.name,
            self.min_confidence,
            confidence=confidence,
            reason=reason,
            values=values,
        )
