"""RSI pull-backs in the direction of an RSI-defined trend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from wagehood.strategies.common import (
    check_float,
    check_int,
    check_less,
    column,
    emit,
    read,
    ready,
    series,
    unit,
)
from wagehood.types import Side, Signal, Snapshot


class RSITrendStrategy:
    """Buy RSI pull-backs in an up-trend and sell RSI rallies in a down-trend.

    Rule, on the bar that just closed (``history[-1]``, "now"):

    - Trend: over the last ``trend_bars`` bars (now included), the share of trend-RSI
      (``trend_period``) values above 50 is at least ``trend_share`` -> up-trend; the share
      below 50 is at least ``trend_share`` -> down-trend; otherwise no trend, no signal.
    - BUY in an up-trend on the bar where the entry RSI (``entry_period``) *enters* the
      pull-back zone ``[buy_low, buy_high]`` from above: above ``buy_high`` on the previous
      bar, inside the zone now. Later bars inside the zone stay quiet.
    - SELL in a down-trend on the bar where the entry RSI enters the rally zone
      ``[sell_low, sell_high]`` from below: below ``sell_low`` before, inside it now.

    Confidence: 0.4, plus up to 0.4 for the trend's strength (how far the share goes from
    ``trend_share`` towards 100%), plus up to 0.2 for the depth of the pull-back (how far
    into the zone RSI went: ``buy_low`` or ``sell_high`` = full).

    Args:
        trend_period: period of the RSI that defines the trend.
        entry_period: period of the RSI that times the entry.
        trend_bars: number of bars whose trend-RSI values are counted (at least 2).
        trend_share: share of those values needed on one side of 50 (0.5 < share <= 1).
        buy_low: lower edge of the buy zone.
        buy_high: upper edge of the buy zone.
        sell_low: lower edge of the sell zone.
        sell_high: upper edge of the sell zone.
        min_confidence: signals below this confidence are not emitted.
    """

    name: ClassVar[str] = "rsi_trend"

    def __init__(
        self,
        *,
        trend_period: int = 21,
        entry_period: int = 14,
        trend_bars: int = 20,
        trend_share: float = 0.6,
        buy_low: float = 30.0,
        buy_high: float = 55.0,
        sell_low: float = 45.0,
        sell_high: float = 70.0,
        min_confidence: float = 0.0,
    ) -> None:
        self.trend_period = check_int("trend_period", trend_period, minimum=1)
        self.entry_period = check_int("entry_period", entry_period, minimum=1)
        self.trend_bars = check_int("trend_bars", trend_bars, minimum=2)
        self.trend_share = check_float("trend_share", trend_share, minimum=0.5, maximum=1.0)
        check_less("0.5", 0.5, "trend_share", self.trend_share)
        self.buy_low = check_float("buy_low", buy_low, minimum=0, maximum=100)
        self.buy_high = check_float("buy_high", buy_high, minimum=0, maximum=100)
        check_less("buy_low", self.buy_low, "buy_high", self.buy_high)
        self.sell_low = check_float("sell_low", sell_low, minimum=0, maximum=100)
        self.sell_high = check_float("sell_high", sell_high, minimum=0, maximum=100)
        check_less("sell_low", self.sell_low, "sell_high", self.sell_high)
        self.min_confidence = check_float("min_confidence", min_confidence, minimum=0, maximum=1)
        self._trend, self._trend_spec = column("rsi", self.trend_period)
        self._entry, self._entry_spec = column("rsi", self.entry_period)

    @property
    def indicators(self) -> Mapping[str, str]:
        """Return the trend and entry RSI columns (one column when the periods are equal)."""
        return {self._trend: self._trend_spec, self._entry: self._entry_spec}

    @property
    def lookback(self) -> int:
        """Return ``trend_bars``: the bars whose trend-RSI values are counted."""
        return self.trend_bars

    def evaluate(self, history: Sequence[Snapshot]) -> Signal | None:
        """Return a signal when the entry RSI enters the zone in the trend's direction."""
        if not ready(history, self.lookback):
            return None
        trend = series(history[-self.trend_bars :], self._trend)
        before = read(history[-2], [self._entry])
        now = read(history[-1], [self._entry, self._trend])
        if trend is None or before is None or now is None:
            return None
        above = sum(value > 50 for value in trend) / len(trend)
        below = sum(value < 50 for value in trend) / len(trend)
        previous, rsi = before[self._entry], now[self._entry]
        if above >= self.trend_share and self.buy_low <= rsi <= self.buy_high < previous:
            depth = (self.buy_high - rsi) / (self.buy_high - self.buy_low)
            return self._signal(history, Side.BUY, above, depth, now)
        if below >= self.trend_share and previous < self.sell_low <= rsi <= self.sell_high:
            depth = (rsi - self.sell_low) / (self.sell_high - self.sell_low)
            return self._signal(history, Side.SELL, below, depth, now)
        return None

    def _signal(
        self,
        history: Sequence[Snapshot],
        side: Side,
        share: float,
        depth: float,
        now: dict[str, float],
    ) -> Signal | None:
        span = 1 - self.trend_share
        strength = unit((share - self.trend_share) / span) if span > 0 else 1.0
        confidence = 0.4 + 0.4 * strength + 0.2 * unit(depth)
        trend, move = ("an up", "pulled back") if side is Side.BUY else ("a down", "rallied")
        reason = (
            f"RSI {move} into the {side.value} zone ({now[self._entry]:.1f}) in {trend}-trend "
            f"({share:.0%} of RSI({self.trend_period}) values on its side of 50)"
        )
        return emit(
            history[-1],
            side,
            self.name,
            self.min_confidence,
            confidence=confidence,
            reason=reason,
            values=now,
        )
