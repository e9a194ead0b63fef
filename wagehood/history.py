"""A look-back of snapshots kept as packed records, decoded only where it is read.

The strategies' look-back ring (``service.evaluation``) stores each snapshot as a fixed-size
record ``(time, mask of None values, open, high, low, close, volume, value per column)``.
Building a ``Snapshot`` (a ``Bar`` and a values dict) for each of a ring's 51 records cost a
live bar close more than every strategy's arithmetic together, while most strategies read
only the last two snapshots and a column or two over the window. ``History`` is a sequence
of snapshots that keeps the records as they are: indexing builds (and keeps) that one
snapshot, slicing shares the records, and ``bar_values`` / ``column`` read one field over the
whole window straight from the records (``strategies.common.series`` and ``bar_values`` use
them). Every value it returns is exactly what the built snapshots hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, overload

from wagehood.types import Bar, Snapshot, Timeframe

# A ring record: (time, mask, open, high, low, close, volume, *values).
Record = tuple[Any, ...]
FIRST_VALUE = 7
_BAR_FIELDS = {"time": 0, "open": 2, "high": 3, "low": 4, "close": 5, "volume": 6}


@dataclass(frozen=True)
class Layout:
    """What the records of one symbol and timeframe hold: their value columns, in order."""

    symbol: str
    timeframe: Timeframe
    columns: tuple[str, ...]

    @property
    def positions(self) -> dict[str, int]:
        """Return each column's position among the values."""
        return _positions(self.columns)

    def snapshot(self, record: Record) -> Snapshot:
        """Return the snapshot ``record`` stands for."""
        values: dict[str, float | None] = dict(
            zip(self.columns, record[FIRST_VALUE:], strict=False)
        )
        if record[1]:
            values.update(_unset_columns(self.columns)(record[1]))
        bar = Bar(self.symbol, self.timeframe, record[0], *record[2:FIRST_VALUE])
        return Snapshot(bar, values)


class History(Sequence[Snapshot]):
    """Snapshots, some still packed as records, built on first access; see the module doc."""

    __slots__ = ("_items", "_layout")

    def __init__(self, layout: Layout, items: Iterable[Record | Snapshot]) -> None:
        self._layout = layout
        self._items: list[Record | Snapshot] = list(items)

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Snapshot: ...

    @overload
    def __getitem__(self, index: slice) -> History: ...

    def __getitem__(self, index: int | slice) -> Snapshot | History:
        if isinstance(index, slice):
            return History(self._layout, self._items[index])
        item = self._items[index]
        if type(item) is tuple:
            item = self._items[index] = self._layout.snapshot(item)
        return item  # type: ignore[return-value]

    def extended(self, snapshots: Iterable[Snapshot]) -> History:
        """Return this history followed by ``snapshots``."""
        return History(self._layout, [*self._items, *snapshots])

    def bar_values(self, name: str) -> list[float]:
        """Return the bar field ``name`` (``time``, ``open`` ... ``volume``) of every snapshot."""
        index = _BAR_FIELDS[name]
        return [
            item[index] if type(item) is tuple else getattr(item.bar, name)  # type: ignore[union-attr]
            for item in self._items
        ]

    def column(self, name: str) -> list[float | None]:
        """Return indicator ``name`` of every snapshot (``None`` where it has no value)."""
        position = self._layout.positions.get(name)
        if position is None:
            return [item.get(name) if type(item) is Snapshot else None for item in self._items]
        index, bit = FIRST_VALUE + position, 1 << position
        return [
            (None if item[1] & bit else item[index]) if type(item) is tuple else item.get(name)  # type: ignore[union-attr]
            for item in self._items
        ]


def concat(before: Sequence[Snapshot], after: Sequence[Snapshot]) -> Sequence[Snapshot]:
    """Return ``before`` followed by ``after``, still lazy where ``before`` was."""
    if isinstance(before, History):
        return before.extended(after)
    return [*before, *after]


@lru_cache(maxsize=64)
def _positions(columns: tuple[str, ...]) -> dict[str, int]:
    return {name: index for index, name in enumerate(columns)}


@lru_cache(maxsize=64)
def _unset_columns(columns: tuple[str, ...]) -> Callable[[int], dict[str, None]]:
    # The None values a record's mask stands for, worked out once per mask (a ring's records
    # mostly share one: the columns still warming up).
    @lru_cache(maxsize=256)
    def unset(mask: int) -> dict[str, None]:
        return {name: None for index, name in enumerate(columns) if mask >> index & 1}

    return unset
