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
import json
import struct
from collections import deque
from collections.abc import Mapping
from typing import Any

PACK_VERSION = 1


def dump(indicator: Any) -> list[Any] | dict[str, str]:
    """Return ``indicator``'s slot values, in ``__slots__`` order, as JSON-ready values.

    An indicator without ``__slots__`` (a plugin's, behind its guard) is dumped as its
    documented ``to_state()`` mapping instead, and restored with ``from_state``.
    """
    if not hasattr(type(indicator), "__slots__"):
        return dict(indicator.to_state())
    out: list[Any] = []
    for name in type(indicator).__slots__:
        value = getattr(indicator, name)
        if type(value) is deque:
            value = _pack_window(value)
        elif type(value) is tuple:
            value = list(value)
        elif hasattr(type(value), "__slots__"):
            value = dump(value)
        out.append(value)
    return out


def _pack_window(window: deque[float]) -> str:
    # A window of floats (most of a set's numbers) as base64 IEEE-754 doubles: exact, and far
    # cheaper to write and read than one decimal text per value.
    return base64.b64encode(struct.pack(f"<{len(window)}d", *window)).decode("ascii")


def _unpack_window(text: str) -> tuple[float, ...]:
    raw = base64.b64decode(text)
    return struct.unpack(f"<{len(raw) // 8}d", raw)


# How to restore each slot of a kind of indicator, learned once from a fresh instance of each
# spec: a plain value, a window (deque, with its maxlen) or a child indicator (its own plan).
_Plan = tuple[tuple[str, str, Any], ...]
_PLANS: dict[str, _Plan] = {}


def _plan(indicator: Any) -> _Plan:
    key = repr(indicator)
    plan = _PLANS.get(key)
    if plan is None:
        steps: list[tuple[str, str, Any]] = []
        for name in type(indicator).__slots__:
            value = getattr(indicator, name)
            if type(value) is deque:
                steps.append((name, "window", value.maxlen))
            elif hasattr(type(value), "__slots__"):
                steps.append((name, "child", (type(value), _plan(value))))
            else:
                steps.append((name, "value", None))
        plan = _PLANS[key] = tuple(steps)
    return plan


def _restore(kind: Any, plan: _Plan, values: list[Any]) -> Any:
    if len(values) != len(plan):
        raise ValueError(
            f"packed state of a {kind.__name__} has {len(values)} slots, not {len(plan)}"
        )
    indicator = kind.__new__(kind)
    for (name, how, extra), packed in zip(plan, values, strict=True):
        value = packed
        if how == "window":
            value = deque(_unpack_window(packed), extra)
        elif how == "child":
            value = _restore(extra[0], extra[1], packed)
        elif type(packed) is list:
            value = tuple(packed)
        setattr(indicator, name, value)
    return indicator


def load(template: Any, values: list[Any] | dict[str, str]) -> Any:
    """Return a new indicator like ``template`` (same kind and spec) holding ``dump`` output."""
    if type(values) is dict:
        return type(template).from_state(values)
    if not isinstance(values, list):
        raise ValueError(f"packed state of a {type(template).__name__} is not a list of slots")
    return _restore(type(template), _plan(template), values)


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
        indicator = restored[name] = load(template, packed[name])
        if repr(indicator) != repr(template):
            raise ValueError(f"packed state of {name!r} is {indicator!r}, spec is {template!r}")
    return restored
