"""Donchian breakout: trade a close beyond the previous bar's channel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from wagehood.plugins import (
    INTERFACE_VERSION,
    Side,
    Signal,
    Snapshot,
    check_float,
    check_int,
    emit,
    read,
    ready,
    unit,
)


class DonchianBreakout:
    """BUY when the close breaks above the previous bar's channel, SELL below it.

    Only the first bar of a breakout fires: the bar before it closed inside its own previous
    channel. Confidence: 0.6, plus up to 0.4 for how far beyond the channel the close is
    (a quarter of the channel's width -> full).

    Args:
        period: channel length in bars.
        min_confidence: signals below this confidence are not emitted.
    """

    name: ClassVar[str] = "donchian_breakout"
    interface_version: ClassVar[int] = INTERFACE_VERSION

    def __init__(self, *, period: int = 20, min_confidence: float = 0.0) -> None:
        self.period = check_int("period", period, minimum=2)
        self.min_confidence = check_float("min_confidence", min_confidence, minimum=0, maximum=1)
        self._column = f"dc_{self.period}"

    @property
    def indicators(self) -> Mapping[str, str]:
        """Return the one channel column this strategy reads."""
        return {self._column: f"donchian({self.period})"}

    @property
    def lookback(self) -> int:
        """Return 3: the channel two bars ago and one bar ago, and now."""
        return 3

    def evaluate(self, history: Sequence[Snapshot]) -> Signal | None:
        """Return a signal on the first close beyond the previous channel, else ``None``."""
        if not ready(history, self.lookback):
            return None
        names = [f"{self._column}_upper", f"{self._column}_lower"]
        earlier, before = read(history[-3], names), read(history[-2], names)
        if earlier is None or before is None:
            return None
        upper, lower = before[names[0]], before[names[1]]
        close, close_before = history[-1].bar.close, history[-2].bar.close
        if close > upper and close_before <= earlier[names[0]]:
            side, beyond = Side.BUY, close - upper
        elif close < lower and close_before >= earlier[names[1]]:
            side, beyond = Side.SELL, lower - close
        else:
            return None
        width = upper - lower
        confidence = 0.6 + 0.4 * unit(beyond / (width / 4)) if width > 0 else 0.6
        word = "above" if side is Side.BUY else "below"
        return emit(
            history[-1],
            side,
            self.name,
            self.min_confidence,
            confidence=confidence,
            reason=f"Close broke {word} the {self.period}-bar Donchian channel",
            values={"upper": upper, "lower": lower, "close": close},
        )
