"""Isolation of plugin code: every call is timed, checked, counted, and stopped after failures.

A plugin runs in the worker's process, so a call cannot be preempted safely. Instead each call
is measured: a call that raises or returns something malformed counts as a failure and its
result is dropped (the strategy gives no signal, the indicator no value); a call that takes
longer than the budget counts as a failure but keeps its (valid) result. After
``POLICY.max_failures`` failures in a row the plugin is disabled in this process and a trip
is queued for the service layer, which records it, raises a health alert and, for a
strategy, disables it in the runtime configuration so that every worker stops calling it.

The guards are composition wrappers that the registries hold instead of the plugin classes:
the pipeline never calls plugin code except through them.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from wagehood.plugins.params import check_params
from wagehood.types import Side, Signal, Snapshot

logger = logging.getLogger(__name__)


@dataclass
class Policy:
    """How long one call may take (seconds) and how many failures disable a plugin."""

    budget: float = 0.05
    max_failures: int = 5


@dataclass
class _Ledger:
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    unreported: dict[tuple[str, str], int] = field(default_factory=dict)
    disabled: dict[tuple[str, str], str] = field(default_factory=dict)
    trips: list[tuple[str, str, str]] = field(default_factory=list)


POLICY = Policy()
_LEDGER = _Ledger()


def fail(kind: str, name: str, reason: str) -> None:
    """Count one failure of plugin ``name``; disable it after ``POLICY.max_failures`` in a row."""
    key = (kind, name)
    count = _LEDGER.failures.get(key, 0) + 1
    _LEDGER.failures[key] = count
    _LEDGER.unreported[key] = _LEDGER.unreported.get(key, 0) + 1
    logger.warning("plugin %s %r failed (%d): %s", kind, name, count, reason)
    if count >= POLICY.max_failures and key not in _LEDGER.disabled:
        text = f"disabled after {count} failures; last: {reason}"
        _LEDGER.disabled[key] = text
        _LEDGER.trips.append((kind, name, text))
        logger.error("plugin %s %r %s", kind, name, text)


def disabled(kind: str) -> set[str]:
    """Return the names of the ``kind`` plugins disabled in this process."""
    return {name for k, name in _LEDGER.disabled if k == kind}


def drain() -> tuple[dict[tuple[str, str], int], list[tuple[str, str, str]]]:
    """Return and forget the failure counts and trips not yet reported."""
    counts, trips = dict(_LEDGER.unreported), list(_LEDGER.trips)
    _LEDGER.unreported.clear()
    _LEDGER.trips.clear()
    return counts, trips


def reset() -> None:
    """Forget every failure and re-enable every plugin (on a configuration change)."""
    _LEDGER.failures.clear()
    _LEDGER.disabled.clear()


def wrap(cls: type[Any], kind: str) -> type[Any]:
    """Return the guarded class the registry holds for plugin class ``cls``."""
    base = GuardedStrategy if kind == "strategy" else GuardedIndicator
    attributes: dict[str, Any] = {
        "name": cls.name,
        "plugin": cls,
        "__signature__": inspect.signature(cls),
        "__doc__": cls.__doc__,
    }
    if kind == "indicator":
        attributes |= {
            "source": cls.source,
            "outputs": tuple(cls.outputs),
            "parameters": tuple(cls.parameters),
        }
    guarded: type[Any] = type(f"Guarded{cls.__name__}", (base,), attributes)
    return guarded


def _timed(kind: str, name: str, call: Any, argument: Any) -> tuple[bool, Any, bool]:
    # (ok, result, in budget): ok is False when the call raised; an overrun is counted but
    # its result kept.
    start = time.perf_counter()
    try:
        result = call(argument)
    except Exception as error:
        fail(kind, name, f"raised {type(error).__name__}: {error}")
        return False, None, False
    elapsed = time.perf_counter() - start
    if elapsed > POLICY.budget:
        fail(kind, name, f"took {elapsed * 1000:.1f} ms (budget {POLICY.budget * 1000:g} ms)")
        return True, result, False
    return True, result, True


def _succeeded(kind: str, name: str) -> None:
    # A good call ends a run of failures: only consecutive failures disable a plugin, so a
    # rare overrun on a loaded machine does not add up over days.
    key = (kind, name)
    if _LEDGER.failures.get(key):
        _LEDGER.failures[key] = 0


class GuardedStrategy:
    """A plugin strategy behind the guard: declarations checked once, each call checked."""

    name: ClassVar[str]
    plugin: ClassVar[type[Any]]

    def __init__(self, **params: Any) -> None:
        check_params(type(self), params)
        try:
            self.inner = self.plugin(**params)
            indicators, lookback = dict(self.inner.indicators), self.inner.lookback
        except ValueError:
            raise
        except Exception as error:
            raise ValueError(f"{type(error).__name__}: {error}") from error
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in indicators.items()):
            raise ValueError("indicators must map column names to spec strings")
        if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
            raise ValueError(f"lookback must be an integer >= 1, was {lookback!r}")
        self._indicators: dict[str, str] = indicators
        self._lookback: int = lookback
        self.min_confidence = float(getattr(self.inner, "min_confidence", 0.0) or 0.0)

    def __repr__(self) -> str:
        return f"guarded {self.inner!r}"

    @property
    def indicators(self) -> Mapping[str, str]:
        """Return the plugin's indicator columns, as declared when it was built."""
        return self._indicators

    @property
    def lookback(self) -> int:
        """Return the plugin's look-back, as declared when it was built."""
        return self._lookback

    def evaluate(self, history: Sequence[Snapshot]) -> Signal | None:
        """Return the plugin's signal, or ``None`` if it failed or is disabled."""
        if ("strategy", self.name) in _LEDGER.disabled:
            return None
        ok, result, in_budget = _timed("strategy", self.name, self.inner.evaluate, history)
        problem = _signal_problem(result, history[-1], self.name) if result is not None else ""
        if problem:
            fail("strategy", self.name, f"returned {problem}")
            return None
        if in_budget:
            _succeeded("strategy", self.name)
        return result if ok else None


def _signal_problem(signal: Any, now: Snapshot, name: str) -> str:
    # Why ``signal`` is not a well-formed signal of strategy ``name`` for bar ``now``, or "".
    if not isinstance(signal, Signal):
        return f"a {type(signal).__name__}, not a Signal or None"
    bar, confidence = now.bar, signal.confidence
    checks = (
        (
            (signal.symbol, signal.timeframe, signal.time) == (bar.symbol, bar.timeframe, bar.time),
            f"a signal for another bar ({signal.symbol} {signal.time})",
        ),
        (
            signal.strategy == name and isinstance(signal.side, Side),
            f"a signal with strategy {signal.strategy!r} and side {signal.side!r}",
        ),
        (
            _number(confidence) and 0 <= confidence <= 1,
            f"confidence {confidence!r} (must be within [0, 1])",
        ),
        (
            _number(signal.price) and isinstance(signal.reason, str),
            f"price {signal.price!r} / reason {signal.reason!r}",
        ),
        (_values_ok(signal.values), "values that are not {name: number or null}"),
    )
    return next((text for ok, text in checks if not ok), "")


def _values_ok(values: object) -> bool:
    return isinstance(values, Mapping) and all(
        isinstance(k, str) and (v is None or _number(v)) for k, v in values.items()
    )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class GuardedIndicator:
    """A plugin indicator behind the guard: each ``update`` is timed and its value checked."""

    name: ClassVar[str]
    plugin: ClassVar[type[Any]]
    source: ClassVar[str]
    outputs: ClassVar[tuple[str, ...]]
    parameters: ClassVar[tuple[tuple[str, type, float | None], ...]]

    def __init__(self, *args: Any) -> None:
        try:
            self.inner = self.plugin(*args)
        except ValueError:
            raise
        except Exception as error:
            raise ValueError(f"{type(error).__name__}: {error}") from error

    def __repr__(self) -> str:
        return repr(self.inner)

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Self:
        """Rebuild the plugin indicator from its ``to_state()`` output."""
        guarded = cls.__new__(cls)
        try:
            guarded.inner = cls.plugin.from_state(dict(state))
        except (KeyError, ValueError):
            raise
        except Exception as error:  # plugin code: a bad state is a ValueError, as for built-ins
            raise ValueError(f"{type(error).__name__}: {error}") from error
        return guarded

    def to_state(self) -> dict[str, str]:
        """Return the plugin indicator's state."""
        return {str(k): str(v) for k, v in self.inner.to_state().items()}

    @property
    def warmup(self) -> int:
        """Return the plugin's warm-up."""
        return int(self.inner.warmup)

    @property
    def ready(self) -> bool:
        """Return whether the plugin's last update gave a value."""
        return bool(self.inner.ready)

    def update(self, x: Any) -> Any:
        """Return the plugin's value, or ``None`` if it failed, is disabled or warms up."""
        values = self.update_values(x)
        if values is None or len(self.outputs) > 1:
            return values
        return values[0]

    def update_values(self, x: Any) -> tuple[float | None, ...] | None:
        """Do what ``update`` does, with a composite's values as a plain tuple."""
        if ("indicator", self.name) in _LEDGER.disabled:
            return None
        ok, value, in_budget = _timed("indicator", self.name, self.inner.update, x)
        if not ok or value is None:
            if in_budget:
                _succeeded("indicator", self.name)
            return None
        values = (value,) if len(self.outputs) == 1 else _items(value)
        if (
            values is None
            or len(values) != len(self.outputs)
            or not all(
                v is None or (isinstance(v, int | float) and not isinstance(v, bool))
                for v in values
            )
        ):
            fail("indicator", self.name, f"returned {value!r}, not {len(self.outputs)} number(s)")
            return None
        if in_budget:
            _succeeded("indicator", self.name)
        return tuple(None if v is None else float(v) for v in values)


def _items(value: Any) -> tuple[Any, ...] | None:
    try:
        return tuple(value)
    except TypeError:
        return None
