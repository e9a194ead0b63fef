"""Evaluate a parsed condition on a closed bar, its predecessor and the bar's strategy signals.

Pure and clock-free. A missing value (an indicator still warming up, an unknown column) makes
every comparison or crossing that reads it false, never an error.

Crossings follow the usual charting definition: ``a crosses_above b`` holds on a bar when
``a > b`` on it and ``a <= b`` on the previous bar (``crosses_below`` mirrors it; ``crosses``
is either). Without a previous bar nothing crosses.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from wagehood.alerts.grammar import (
    Compare,
    Cross,
    Field,
    Node,
    Not,
    Number,
    Operand,
    SignalTrigger,
    crossed_fields,
    fields_of,
)
from wagehood.types import Signal, Snapshot

BAR_FIELDS = ("open", "high", "low", "close", "volume")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class BarView:
    """What a condition sees: the current closed bar, the previous one, and its signals."""

    current: Snapshot
    previous: Snapshot | None = None
    signals: Sequence[Signal] = ()


def value_of(name: str, snapshot: Snapshot | None) -> float | None:
    """Return bar field or indicator column ``name`` of ``snapshot`` (``None`` if absent)."""
    if snapshot is None:
        return None
    if name in BAR_FIELDS:
        return float(getattr(snapshot.bar, name))
    found = snapshot.values.get(name)
    return None if found is None else float(found)


def _operand(side: Operand, snapshot: Snapshot | None) -> float | None:
    if isinstance(side, Number):
        return side.value
    return value_of(side.name, snapshot)


def _compare(node: Compare, view: BarView) -> bool:
    left, right = _operand(node.left, view.current), _operand(node.right, view.current)
    return left is not None and right is not None and _COMPARE[node.op](left, right)


def _cross(node: Cross, view: BarView) -> bool:
    a, b = _operand(node.left, view.current), _operand(node.right, view.current)
    pa, pb = _operand(node.left, view.previous), _operand(node.right, view.previous)
    if a is None or b is None or pa is None or pb is None:
        return False
    above = a > b and pa <= pb
    below = a < b and pa >= pb
    if node.direction == "crosses_above":
        return above
    if node.direction == "crosses_below":
        return below
    return above or below


def _triggered(node: SignalTrigger, view: BarView) -> bool:
    return any(
        s.strategy == node.strategy and node.side in ("any", s.side.value) for s in view.signals
    )


def holds(node: Node, view: BarView) -> bool:
    """Return whether the condition ``node`` holds on ``view``."""
    if isinstance(node, Compare):
        return _compare(node, view)
    if isinstance(node, Cross):
        return _cross(node, view)
    if isinstance(node, SignalTrigger):
        return _triggered(node, view)
    if isinstance(node, Not):
        return not holds(node.operand, view)
    if node.op == "and":
        return all(holds(operand, view) for operand in node.operands)
    return any(holds(operand, view) for operand in node.operands)


def trigger_values(node: Node, view: BarView) -> dict[str, float | None]:
    """Return the values the condition read: each field now, crossed fields also ``@prev``."""
    values: dict[str, float | None] = {}
    for field in fields_of(node):
        values[field.name] = value_of(field.name, view.current)
    for field in crossed_fields(node):
        values[f"{field.name}@prev"] = value_of(field.name, view.previous)
    return values


def views(
    history: Sequence[Snapshot], first: int, signals: Sequence[Signal]
) -> list[tuple[BarView, BarView | None]]:
    """Return ``(view, previous view)`` for each bar of ``history`` from index ``first``.

    Each view gets its own bar's ``signals``. Previous views get none: whether a condition
    already held on the previous bar then depends only on stored bars, never on which bars
    one evaluation step happened to cover, so catch-up evaluation is deterministic.
    """
    by_time: Mapping[int, list[Signal]] = _by_time(signals)
    result = []
    for index in range(first, len(history)):
        view = _view(history, index, by_time.get(history[index].bar.time, []))
        previous = _view(history, index - 1, []) if index >= 1 else None
        result.append((view, previous))
    return result


def _view(history: Sequence[Snapshot], index: int, signals: Sequence[Signal]) -> BarView:
    previous = history[index - 1] if index >= 1 else None
    return BarView(history[index], previous, signals)


def _by_time(signals: Sequence[Signal]) -> dict[int, list[Signal]]:
    grouped: dict[int, list[Signal]] = {}
    for signal in signals:
        grouped.setdefault(signal.time, []).append(signal)
    return grouped


__all__ = ["BAR_FIELDS", "BarView", "Field", "holds", "trigger_values", "value_of", "views"]
