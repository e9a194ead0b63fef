"""Helpers shared by the strategies: column names, parameter checks, crossings, signals."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from wagehood.history import History
from wagehood.types import Side, Signal, Snapshot

# Composite indicators whose default parameters keep the short column prefix of the default set.
_COMPOSITE_PREFIX = {"macd": "macd", "bbands": "bb"}
_COMPOSITE_DEFAULTS: dict[str, tuple[float, ...]] = {"macd": (12, 26, 9), "bbands": (20, 2.0)}


def column(kind: str, *params: float) -> tuple[str, str]:
    """Return ``(column_name, spec)`` for indicator ``kind`` built with ``params``.

    Single-value indicators are named ``kind_params`` (``rsi_14``, ``ema_200``). Composites
    keep the default set's prefix for their default parameters (``macd``, ``bb``) and append
    their parameters otherwise (``macd_5_35_5``, ``bb_30_2.5``); their values live in the
    suffixed columns (``macd_signal``, ``bb_upper``...).
    """
    texts = [_number(p) for p in params]
    spec = f"{kind}({','.join(texts)})"
    prefix = _COMPOSITE_PREFIX.get(kind, kind)
    if kind in _COMPOSITE_PREFIX and tuple(params) == _COMPOSITE_DEFAULTS[kind]:
        return prefix, spec
    return "_".join([prefix, *texts]), spec


def _number(value: float) -> str:
    # ints print bare ("14"), floats keep their point ("2.0", "2.5")
    return str(value) if isinstance(value, int) else repr(float(value))


def check_int(name: str, value: object, *, minimum: int) -> int:
    """Return ``value`` if it is an int ``>= minimum``; raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, was {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, was {value}")
    return value


def check_float(name: str, value: object, *, minimum: float, maximum: float) -> float:
    """Return ``value`` as a float within ``[minimum, maximum]``; raise ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, was {value!r}")
    number = float(value)
    if not minimum <= number <= maximum:
        raise ValueError(f"{name} must be between {minimum:g} and {maximum:g}, was {value!r}")
    return number


def check_less(low_name: str, low: float, high_name: str, high: float) -> None:
    """Raise ``ValueError`` unless ``low < high``."""
    if not low < high:
        raise ValueError(f"{low_name} must be < {high_name}, was {low!r} >= {high!r}")


def finite(value: float | None) -> float | None:
    """Return ``value`` when it is a finite number, else ``None`` (missing or warming up)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def read(snapshot: Snapshot, names: Sequence[str]) -> dict[str, float] | None:
    """Return ``{name: value}`` for ``names``, or ``None`` if any is missing or not finite."""
    values: dict[str, float] = {}
    for name in names:
        value = finite(snapshot.get(name))
        if value is None:
            return None
        values[name] = value
    return values


def series(history: Sequence[Snapshot], name: str) -> list[float] | None:
    """Return column ``name`` over ``history``, or ``None`` if any value is missing."""
    if isinstance(history, History):
        found: Iterable[float | None] = history.column(name)
    else:
        found = (snapshot.get(name) for snapshot in history)
    values: list[float] = []
    for raw in found:
        value = finite(raw)
        if value is None:
            return None
        values.append(value)
    return values


def bar_values(history: Sequence[Snapshot], name: str) -> list[float]:
    """Return bar field ``name`` (``open``, ``high``, ``low``, ``close``, ``volume``) over ``history``.

    A look-back still packed (``wagehood.history.History``) is read without building its
    snapshots.
    """
    if isinstance(history, History):
        return history.bar_values(name)
    return [getattr(snapshot.bar, name) for snapshot in history]


def ready(history: Sequence[Snapshot], length: int) -> bool:
    """Return whether ``history`` holds ``length`` snapshots and ends with a closed bar."""
    return len(history) >= length and history[-1].bar.closed


def crossed_above(before: float, before_ref: float, now: float, now_ref: float) -> bool:
    """Return whether a line was at or below its reference and is now strictly above it."""
    return before <= before_ref and now > now_ref


def crossed_below(before: float, before_ref: float, now: float, now_ref: float) -> bool:
    """Return whether a line was at or above its reference and is now strictly below it."""
    return before >= before_ref and now < now_ref


def unit(value: float) -> float:
    """Clamp ``value`` into ``[0, 1]`` (``NaN`` becomes 0)."""
    if not value > 0:
        return 0.0
    return min(1.0, value)


def emit(
    snapshot: Snapshot,
    side: Side,
    strategy: str,
    min_confidence: float,
    *,
    confidence: float,
    reason: str,
    values: Mapping[str, float | None],
) -> Signal | None:
    """Return the signal for ``snapshot``'s bar, or ``None`` below ``min_confidence``."""
    score = round(unit(confidence), 4)
    if score < min_confidence:
        return None
    bar = snapshot.bar
    return Signal(
        symbol=bar.symbol,
        timeframe=bar.timeframe,
        time=bar.time,
        strategy=strategy,
        side=side,
        confidence=score,
        price=bar.close,
        reason=reason,
        values=dict(values),
    )
