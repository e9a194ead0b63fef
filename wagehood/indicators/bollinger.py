"""Bollinger Bands, as TA-Lib's ``BBANDS`` with a simple moving average."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from math import sqrt
from typing import ClassVar, Self

from wagehood.indicators.base import Source
from wagehood.indicators.sma import (
    check_version,
    decode_floats,
    encode_floats,
)

STATE_VERSION = "1"
ZERO = 1e-14  # TA-Lib 0.6+ TA_EPSILON: a variance below this gives a zero deviation


@dataclass(frozen=True, slots=True)
class BollingerValue:
    """One Bollinger reading: upper band, middle band (the SMA) and lower band."""

    upper: float
    middle: float
    lower: float


class BollingerBands:
    """SMA middle band plus and minus ``nbdev`` population standard deviations.

    Follows TA-Lib ``BBANDS(period, nbdev, nbdev, matype=0)``: the middle band is TA-Lib's
    SMA (same running total, same rounding), the deviation is the population standard
    deviation of the window (divide by ``period``), zero when the variance is below 1e-14,
    and the bands are ``middle +/- deviation * nbdev``. The first value comes at index
    ``period - 1``.

    A running sum of squares drifts after many bars (cancellation of two large sums), so the
    deviation uses sums of ``x - anchor`` and ``(x - anchor)**2`` over the window, with the
    anchor moved to the newest input and both sums recomputed from the window every
    ``period`` inputs. Rounding error therefore never accumulates beyond one window while
    each update stays O(1) amortised.

    Args:
        period: Window length, at least 2.
        nbdev: Band width in standard deviations, greater than 0.
    """

    source: ClassVar[Source] = "close"
    outputs: ClassVar[tuple[str, ...]] = ("_upper", "_middle", "_lower")
    __slots__ = (
        "_anchor",
        "_since",
        "_sum",
        "_sum2",
        "_total",
        "_values",
        "_window",
        "nbdev",
        "period",
    )

    def __init__(self, period: int = 20, nbdev: float = 2.0) -> None:
        if period < 2:
            raise ValueError(f"period must be >= 2, was {period}")
        if not (nbdev > 0.0 and math.isfinite(nbdev)):
            raise ValueError(f"nbdev must be a finite number > 0, was {nbdev}")
        self.period = period
        self.nbdev = float(nbdev)
        self._window: deque[float] = deque()  # the last ``period - 1`` inputs between updates
        self._total = 0.0  # TA-Lib's running SMA total over the window
        self._anchor = 0.0
        self._sum = 0.0  # sum of (x - anchor) over the window
        self._sum2 = 0.0  # sum of (x - anchor) ** 2 over the window
        self._since = 0  # inputs since the anchor last moved; 0 before the first input
        self._values: tuple[float, float, float] | None = None

    def __repr__(self) -> str:
        return f"BollingerBands({self.period}, {self.nbdev!r})"

    @property
    def warmup(self) -> int:
        """Return how many inputs produce ``None`` before the first value."""
        return self.period - 1

    @property
    def ready(self) -> bool:
        """Return whether the last ``update`` produced a value."""
        return self._values is not None

    def update(self, x: float) -> BollingerValue | None:
        """Consume one close and return the three bands, ``None`` until the window is full."""
        values = self.update_values(x)
        return None if values is None else BollingerValue(*values)

    def update_values(self, x: float) -> tuple[float, float, float] | None:
        """Do what ``update`` does but return ``(upper, middle, lower)`` as a plain tuple."""
        window = self._window
        window.append(x)
        since = self._since
        period = self.period
        if 0 < since < period:
            anchor = self._anchor
            shifted = x - anchor
            total1 = self._sum + shifted
            total2 = self._sum2 + shifted * shifted
            self._since = since + 1
        else:
            self._reanchor(x)
            anchor, total1, total2 = x, self._sum, self._sum2
        total = self._total + x
        if len(window) < period:
            self._sum, self._sum2, self._total = total1, total2, total
            return None
        oldest = window.popleft()
        self._total = total - oldest
        # Variance from the shifted sums, then drop the oldest input from them.
        middle = total / period
        mean = total1 / period
        variance = total2 / period - mean * mean
        shifted = oldest - anchor
        self._sum = total1 - shifted
        self._sum2 = total2 - shifted * shifted
        width = sqrt(variance) * self.nbdev if variance >= ZERO else 0.0
        values = self._values = (middle + width, middle, middle - width)
        return values

    def _reanchor(self, anchor: float) -> None:
        # Recompute both shifted sums exactly over the window (which already holds ``anchor``).
        total = total2 = 0.0
        for x in self._window:
            shifted = x - anchor
            total += shifted
            total2 += shifted * shifted
        self._anchor, self._sum, self._sum2, self._since = anchor, total, total2, 1

    def to_state(self) -> dict[str, str]:
        """Return the complete state as a flat string mapping."""
        return {
            "v": STATE_VERSION,
            "period": str(self.period),
            "nbdev": repr(self.nbdev),
            "window": encode_floats(self._window),
            "total": repr(self._total),
            "anchor": repr(self._anchor),
            "sum": repr(self._sum),
            "sum2": repr(self._sum2),
            "since": str(self._since),
            "value": encode_floats(self._values or ()),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Self:
        """Rebuild Bollinger Bands from ``to_state()`` output."""
        check_version(state, STATE_VERSION)
        bands = cls(int(state["period"]), float(state["nbdev"]))
        bands._window.extend(decode_floats(state["window"]))
        bands._total = float(state["total"])
        bands._anchor = float(state["anchor"])
        bands._sum, bands._sum2 = float(state["sum"]), float(state["sum2"])
        bands._since = int(state["since"])
        bands_values = decode_floats(state["value"])
        bands._values = (
            (bands_values[0], bands_values[1], bands_values[2]) if bands_values else None
        )
        return bands
