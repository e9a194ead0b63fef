"""The strategy port: declared indicators and look-back, pure evaluation of closed bars.

A strategy:
- declares the indicators it needs as ``{column_name: spec}`` (spec strings such as
  ``"rsi(14)"`` or ``"macd(12,26,9)"``, see ``wagehood.indicators.registry``); composite
  specs produce their suffixed columns (``macd``, ``macd_signal``, ``macd_hist``);
- declares ``lookback``: how many of the most recent closed-bar snapshots it needs;
- ``evaluate(history)`` receives at most ``lookback`` snapshots, oldest first, the last one
  being the bar that just closed, and returns a ``Signal`` for that bar or ``None``. The
  history is a read-only sequence, not always a list (a live close passes the look-back
  ring, ``wagehood.history.History``); ``common.series`` and ``common.bar_values`` read a
  column over it without building every snapshot.
  It is pure: no I/O, no clock, no state between calls, and it only looks at the past.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Protocol, runtime_checkable

from wagehood.types import Signal, Snapshot

INTERFACE_VERSION = 1


@runtime_checkable
class Strategy(Protocol):
    """A trading rule evaluated on closed bars."""

    name: ClassVar[str]

    @property
    def indicators(self) -> Mapping[str, str]:
        """Return the indicator columns this strategy reads, as ``{name: spec}``."""
        ...

    @property
    def lookback(self) -> int:
        """Return the number of snapshots ``evaluate`` needs (the current one included)."""
        ...

    def evaluate(self, history: Sequence[Snapshot]) -> Signal | None:
        """Return a signal for ``history[-1]`` or ``None``."""
        ...
