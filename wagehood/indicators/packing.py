"""Compact, exact state of an indicator set: one JSON array, read back without per-field parsing.

``to_state`` (a flat string mapping, one field per value) is the indicators' documented,
versioned state. On the live path an engine is loaded, fed one bar and saved, so the cost of
that mapping (about 80 fields parsed one by one) dominated the bar close. Here each indicator
is dumped as the list of its ``__slots__`` values in slot order (a window as a list, a child
indicator as its own list), and the whole set as one JSON object by column name: ``json`` writes floats with
``repr`` and reads them back bit for bit, so the restored set continues exactly.

Restoring starts from a fresh indicator of the same spec (the parameters it was built with
are known) and overwrites its slots; windows keep their ``maxlen``.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from typing import Any

PACK_VERSION = 1


def dump(indicator: Any) -> list[Any]:
    """Return ``indicator``'s slot values, in ``__slots__`` order, as JSON-ready values."""
    out: list[Any] = []
    for name in type(indicator).__slots__:
        value = getattr(indicator, name)
        if type(value) is deque or type(value) is tuple:
            value = list(value)
        elif hasattr(type(value), "__slots__"):
            value = dump(value)
        out.append(value)
    return out


def load(indicator: Any, values: list[Any]) -> None:
    """Overwrite a fresh ``indicator``'s slots with ``dump`` output (same kind and spec)."""
    slots = type(indicator).__slots__
    if len(values) != len(slots):
        raise ValueError(f"packed state of {indicator!r} has {len(values)} slots, not {len(slots)}")
    for name, value in zip(slots, values, strict=True):
        current = getattr(indicator, name)
        if type(current) is deque:
            current.extend(value)
        elif hasattr(type(current), "__slots__"):
            load(current, value)
        elif type(value) is list:
            setattr(indicator, name, tuple(value))
        else:
            setattr(indicator, name, value)


def pack(indicators: Mapping[str, Any]) -> str:
    """Return the packed state of ``indicators`` (name -> indicator object)."""
    packed = {name: dump(indicator) for name, indicator in indicators.items()}
    return json.dumps({"v": PACK_VERSION, "set": packed}, separators=(",", ":"), sort_keys=True)


def unpack(fresh: Mapping[str, Any], text: str) -> None:
    """Load ``pack`` output into ``fresh`` indicators (name -> indicator of the same spec).

    Raises:
        ValueError: The text is not a packed state of these indicators.
    """
    data = json.loads(text)
    packed = data.get("set") if type(data) is dict and data.get("v") == PACK_VERSION else None
    if packed is None or packed.keys() != fresh.keys():
        raise ValueError(f"not a packed state (version {PACK_VERSION}) of {', '.join(fresh)}")
    for name, indicator in fresh.items():
        expected = repr(indicator)
        load(indicator, packed[name])
        if repr(indicator) != expected:
            raise ValueError(f"packed state of {name!r} is {indicator!r}, spec is {expected}")
