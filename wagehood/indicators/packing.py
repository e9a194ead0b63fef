"""Compact, exact state of an indicator set: one text field, read back without per-field parsing.

``to_state`` (a flat string mapping, one field per value) is the indicators' documented,
versioned state. On the live path an engine is loaded, fed one bar and saved, so the cost of
that mapping (about 80 fields parsed one by one) dominated the bar close. Here each indicator
is dumped as the list of its ``__slots__`` values in slot order (a child indicator as its
own list), windows of floats (most of a set's numbers) as IEEE-754 doubles, and the whole
set as ``(version, {column: slots})`` in a pickle of plain data (protocol 5: floats are
binary, so both directions run in C; writing the JSON text of version 1 cost more than
the rest of a save). The pickle's bytes are kept one character per byte (latin-1), which a
Redis client's UTF-8 round trip keeps exactly. Everything reads back bit for bit, so the
restored set continues exactly. Reading refuses any pickle that names a class or function
(``_PlainData``): a packed state holds only lists, tuples, numbers, bytes, text and None.
Version 1 (a JSON object, windows in base64) is still read.

Restoring builds each indicator without ``__init__`` and sets every slot, following a plan
learned once per spec from a fresh instance (which slots are windows, with their ``maxlen``,
and which are child indicators).
"""

from __future__ import annotations

import binascii
import io
import json
import pickle
import struct
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

PACK_VERSION = 2


def dump(indicator: Any) -> list[Any] | dict[str, str]:
    """Return ``indicator``'s slot values, in ``__slots__`` order, as JSON-ready values.

    An indicator without ``__slots__`` (a plugin's, behind its guard) is dumped as its
    documented ``to_state()`` mapping instead, and restored with ``from_state``.
    """
    kind = type(indicator)
    if not hasattr(kind, "__slots__"):
        return dict(indicator.to_state())
    shape = _SHAPES.get(kind) or _shape(indicator)
    out = list(shape[0](indicator))
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


def _pack_window(window: deque[float]) -> bytes:
    # A window of floats as IEEE-754 doubles: exact, and one copy to write and read.
    return struct.pack(f"<{len(window)}d", *window)


def _unpack_window(packed: bytes | str) -> tuple[float, ...]:
    raw = packed if type(packed) is bytes else binascii.a2b_base64(packed)  # version 1: base64
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
    packed = {name: dump(indicators[name]) for name in sorted(indicators)}
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=5)
    # No memo: equal states give equal text whatever objects they share (a save compares
    # it with the loaded text to write only what changed). Packed states hold no cycles.
    pickler.fast = True
    pickler.dump((PACK_VERSION, packed))
    return out.getvalue().decode("latin-1")


class _PlainData(pickle.Unpickler):
    """Unpickle lists, tuples, dicts, numbers, bytes, text and None; refuse anything else.

    Those are built by the pickle's own opcodes; every class or function (the way a pickle
    runs code) is looked up through ``find_class``, which refuses them all.
    """

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"a packed state names no class, got {module}.{name}")


def _read(text: str) -> Any:
    # The (version, {column: slots}) of ``pack`` output, or the set of a version-1 JSON text.
    if text[:1] == "{":
        data = json.loads(text)
        return data.get("set") if type(data) is dict and data.get("v") == 1 else None
    try:
        data = _PlainData(io.BytesIO(text.encode("latin-1"))).load()
    except (pickle.UnpicklingError, EOFError, UnicodeEncodeError, ValueError, IndexError):
        return None
    if type(data) is tuple and len(data) == 2 and data[0] == PACK_VERSION:
        return data[1]
    return None


def unpack(templates: Mapping[str, Any], text: str) -> dict[str, Any]:
    """Return indicators like ``templates`` (name -> indicator) holding ``pack`` output.

    The templates only tell each column's kind and spec; they are not changed.

    Raises:
        ValueError: The text is not a packed state of these indicators.
    """
    packed = _read(text)
    if type(packed) is not dict or packed.keys() != templates.keys():
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
