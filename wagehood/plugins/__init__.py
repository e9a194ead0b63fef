"""The public plugin interface: what a strategy or indicator plugin may import and rely on.

Everything a plugin needs is importable from here, and only what is listed in ``__all__`` is
promised to stay stable within one ``INTERFACE_VERSION``. A plugin class declares the version
it was written for as ``interface_version = INTERFACE_VERSION``; wagehood refuses a plugin
declaring another one. See docs/plugins.md.

A strategy plugin (entry point group ``wagehood.strategies``):
    ``name``; ``interface_version``; ``__init__`` taking keyword parameters with defaults and
    type annotations (``int``, ``float``, ``bool``, ``str``; checked before ``__init__`` runs,
    ``ValueError`` for a bad value); ``indicators`` (``{column: spec}``); ``lookback``;
    ``evaluate(history) -> Signal | None``.

An indicator plugin (entry point group ``wagehood.indicators``):
    ``name`` (the spec kind, as in ``myind(14, 2.0)``); ``interface_version``; ``source``
    (``"close"`` or ``"bar"``); ``outputs`` (column suffixes, ``("",)`` for one value);
    ``parameters`` (``((name, int | float, default or None), ...)``, in spec order);
    ``warmup``; ``ready``; ``update(x)``; ``to_state()``; ``from_state(state)``; ``repr``.
"""

from __future__ import annotations

from wagehood.indicators.base import Indicator, Source
from wagehood.strategies.base import INTERFACE_VERSION, Strategy
from wagehood.strategies.common import (
    check_float,
    check_int,
    check_less,
    column,
    crossed_above,
    crossed_below,
    emit,
    finite,
    read,
    ready,
    series,
    unit,
)
from wagehood.types import Bar, Side, Signal, Snapshot, Timeframe

__all__ = [
    "INTERFACE_VERSION",
    "Bar",
    "Indicator",
    "Side",
    "Signal",
    "Snapshot",
    "Source",
    "Strategy",
    "Timeframe",
    "check_float",
    "check_int",
    "check_less",
    "column",
    "crossed_above",
    "crossed_below",
    "emit",
    "finite",
    "read",
    "ready",
    "series",
    "unit",
]
