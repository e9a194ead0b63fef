"""Compact, exact state of an indicator set: one JSON array, read back without per-field parsing.

``to_state`` (a flat string mapping, one field per value) is the indicators' documented,
versioned state. On the live path an engine is loaded, fed one bar and saved, so the cost of
that mapping (about 80 fields parsed one by one) dominated the bar close. Here each indicator
is dumped as the list of its ``__slots__`` values in slot order (a child indicator as its
own list), and the whole set as one JSON object by column name. Windows of floats (most of
a set's numbers) are base64 IEEE-754 doubles; the other floats are JSON numbers, which
``json`` writes with ``repr``. Both read back bit for bit, so the restored set continues
exactly.

Restoring builds each indicator without ``__init__`` and sets every slot, following a plan
learned once per spec from a fresh instance (which slots are windows, with their ``maxlen``,
and which are child indicators).
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

PACK_VERSION = 1


def dump(indicator: Any) -> list[Any] | dict[str, str]:
    """Return ``indicator``'s slot values, in ``__slots__`` order, as JSON-ready values.

    An indicator without ``__slots__`` (a plugin's, behind its guard) is dumped as its
    documented ``to_state()`` mapping instead, and restored with ``from_state``.
    """
    kind = type(indicator)
    if not hasattr(kind, "__slots__"):
        return dict(indicator.to_state())
    shape = _SHAPES.get(kind) or _shape(indicator)
    out = list(shape[0](indicator))  # tuples stay tuples: ``json`` writes them as lists
    for index in shape[1]:
        out[index] = _pack_window(out[index])
    for index in shape[2]:
        out[index] = dump(out[index])
    return out


# Per class: a getter of every slot in order (one call), and which slots hold a window or a
# child indicator, learned from the first instance dumped (as the restore plans below are).
_Shape = tuple[Any, tuple[int, ...], tuple[int, ...]]
_SHAPES: dict[type, _Shape] = {}


def _shape(indicator: Any) -> _Shape:
    names = type(indicator).__slots__
    values = [getattr(indicator, name) for name in names]
    windows = tuple(i for i, value in enumerate(values) if type(value) is deque)
    children = tuple(
        i
        for i, value in enumerate(values)
        if type(value) is not deque and hasattr(type(value), "__slots__")
    )
    getter = attrgetter(*names) if len(names) > 1 else (lambda ind: (getattr(ind, names[0]),))
    shape = _SHAPES[type(indicator)] = (getter, windows, children)
    return shape


def _pack_window(window: deque[float]) -> str:
    # A window of floats (most of a set's numbers) as base64 IEEE-754 doubles: exact, and far
    # cheaper to write and read than one decimal text per value.
    return base64.b64encode(struct.pack(f"<{len(window)}d", *window)).decode("ascii")


def _unpack_window(text: str) -> tuple[float, ...]:
    raw = binascii.a2b_base64(text)  # about twice as fast as base64.b64decode
    return struct.unpack(f"<{len(raw) // 8}d", raw)


# How to restore one kind and spec of indicator, learned once from a fresh instance of it:
# its class, its slot names, the windows (slot index and ``maxlen``) and the child indicators
# (slot index and their own plan).
@dataclass(frozen=True)
class _Plan:
    kind: Any
    names: tuple[str, ...]
    windows: tuple[tuple[int, int | None], ...]
    children: tuple[tuple[int, _Plan], ...]


_PLANS: dict[str, _Plan] = {}


def _plan(indicator: Any) -> _Plan:
    key = repr(indicator)
    plan = _PLANS.get(key)
    if plan is None:
        kind = type(indicator)
        names = tuple(kind.__slots__)
        values = [getattr(indicator, name) for name in names]
        windows = tuple((i, v.maxlen) for i, v in enumerate(values) if type(v) is deque)
        children = tuple(
            (i, _plan(v))
            for i, v in enumerate(values)
            if type(v) is not deque and hasattr(type(v), "__slots__")
        )
        plan = _PLANS[key] = _Plan(kind, names, windows, children)
    return plan


def _restore(plan: _Plan, values: list[Any]) -> Any:
    kind = plan.kind
    if len(values) != len(plan.names):
        raise ValueError(
            f"packed state of a {kind.__name__} has {len(values)} slots, not {len(plan.names)}"
        )
    values = list(values)
    for index, maxlen in plan.windows:
        values[index] = deque(_unpack_window(values[index]), maxlen)
    for index, child in plan.children:
        values[index] = _restore(child, values[index])
    indicator = kind.__new__(kind)
    for name, value in zip(plan.names, values, strict=True):
        setattr(indicator, name, tuple(value) if type(value) is list else value)
    return indicator


def load(template: Any, values: list[Any] | dict[str, str]) -> Any:
    """Return a new indicator like ``template`` (same kind and spec) holding ``dump`` output."""
    if type(values) is dict:
        return type(template).from_state(values)
    if not isinstance(values, list):
        raise ValueError(f"packed state of a {type(template).__name__} is not a list of slots")
    return _restore(_template_plan(template)[0], values)


# The plan and repr of each template seen (templates are long-lived, cached per spec set):
# by identity, so a restore computes no ``repr`` of its template.
_BY_TEMPLATE: dict[int, tuple[Any, _Plan, str]] = {}


def _template_plan(template: Any) -> tuple[_Plan, str]:
    known = _BY_TEMPLATE.get(id(template))
    if known is None or known[0] is not template:
        known = _BY_TEMPLATE[id(template)] = (template, _plan(template), repr(template))
    return known[1], known[2]


def pack(indicators: Mapping[str, Any]) -> str:
    """Return the packed state of ``indicators`` (name -> indicator object)."""
    packed = {name: dump(indicator) for name, indicator in indicators.items()}
    return json.dumps({"v": PACK_VERSION, "set": packed}, separators=(",", ":"), sort_keys=True)


def unpack(templates: Mapping[str, Any], text: str) -> dict[str, Any]:
    """Return indicators like ``templates`` (name -> indicator) holding ``pack`` output.

    The templates only tell each column's kind and spec; they are not changed.

    Raises:
        ValueError: The text is not a packed state of these indicators.
    """
    data = json.loads(text)
    packed = data.get("set") if type(data) is dict and data.get("v") == PACK_VERSION else None
    if packed is None or packed.keys() != templates.keys():
        raise ValueError(f"not a packed state (version {PACK_VERSION}) of {', '.join(templates)}")
    restored = {}
    for name, template in templates.items():
        values = packed[name]
        if type(values) is list and hasattr(type(template), "__slots__"):
            plan, expected = _template_plan(template)
            indicator = restored[name] = _restore(plan, values)
        else:
            indicator = restored[name] = load(template, values)
            expected = repr(template)
        if repr(indicator) != expected:
            raise ValueError(f"packed state of {name!r} is {indicator!r}, spec is {expected}")
    return restored
