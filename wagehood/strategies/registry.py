"""Strategies by name, their configuration, and the set the engine evaluates per bar.

A strategy configuration maps each strategy name to ``{"enabled": bool, "params": {...}}``;
empty params mean the strategy's documented defaults.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wagehood.errors import ValidationError
from wagehood.strategies.base import Strategy
from wagehood.strategies.bollinger_breakout import BollingerBreakoutStrategy
from wagehood.strategies.common import column
from wagehood.strategies.ma_crossover import MACrossoverStrategy
from wagehood.strategies.macd_rsi import MACDRSIStrategy
from wagehood.strategies.rsi_trend import RSITrendStrategy
from wagehood.strategies.support_resistance import SupportResistanceStrategy
from wagehood.types import Signal, Snapshot

__all__ = [
    "DEFAULT_STRATEGY_CONFIG",
    "STRATEGIES",
    "StrategySet",
    "available",
    "build_strategy",
    "column",
    "merge_indicators",
    "use_plugins",
    "validate_strategy_config",
]

FIELD = "strategies"

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        BollingerBreakoutStrategy,
        MACDRSIStrategy,
        MACrossoverStrategy,
        RSITrendStrategy,
        SupportResistanceStrategy,
    )
}

DEFAULT_STRATEGY_CONFIG: dict[str, dict[str, Any]] = {
    name: {"enabled": True, "params": {}} for name in STRATEGIES
}

# Where plugin strategies come from: the plugin loader (``wagehood.plugins.loader``) sets a
# function returning the loaded classes by name, so the registry depends on no plugin code.
_PLUGINS: list[Callable[[], Mapping[str, type]]] = []


def available() -> dict[str, type]:
    """Return the strategy classes by name: the built-ins and the loaded plugins."""
    return {**STRATEGIES, **(_PLUGINS[0]() if _PLUGINS else {})}


def use_plugins(classes: Callable[[], Mapping[str, type]]) -> None:
    """Take the plugin strategies from ``classes()`` from now on (the plugin loader calls it)."""
    _PLUGINS[:] = [classes]


def build_strategy(
    name: str, params: Mapping[str, Any], registry: Mapping[str, type] | None = None
) -> Strategy:
    """Return strategy ``name`` built with ``params``.

    Raises:
        ValidationError: the name, a parameter name or a parameter value is invalid
            (``field="strategies"``; the message names the culprit).
    """
    known = available() if registry is None else registry
    cls = known.get(name)
    if cls is None:
        choices = ", ".join(sorted(known))
        raise ValidationError(f"unknown strategy {name!r}; choose one of {choices}", FIELD)
    if not isinstance(params, Mapping):
        raise ValidationError(f"strategy {name!r}: params must be an object", FIELD)
    accepted = [p for p in inspect.signature(cls).parameters if p != "self"]
    unknown = sorted(str(key) for key in params if key not in accepted)
    if unknown:
        raise ValidationError(
            f"strategy {name!r}: unknown parameter {unknown[0]!r}; accepted: {', '.join(accepted)}",
            FIELD,
        )
    try:
        strategy: Strategy = cls(**params)
    except ValueError as error:
        raise ValidationError(f"strategy {name!r}: {error}", FIELD) from error
    return strategy


def validate_strategy_config(
    config: Mapping[str, Any], registry: Mapping[str, type] | None = None
) -> dict[str, dict[str, Any]]:
    """Return ``config`` validated and normalised to ``{name: {"enabled", "params"}}``.

    Every known strategy appears in the result; those absent from ``config`` are disabled
    with default params. Entries may omit ``enabled`` (True) and ``params`` ({}). Params of
    disabled strategies are validated too, so enabling one later cannot fail.

    Raises:
        ValidationError: an unknown strategy, entry key or parameter, or an invalid value.
    """
    known = available() if registry is None else registry
    if not isinstance(config, Mapping):
        raise ValidationError("strategy config must be an object of name -> entry", FIELD)
    normalised = {name: {"enabled": False, "params": {}} for name in sorted(known)}
    for name, entry in config.items():
        normalised[str(name)] = _normalise_entry(str(name), entry, known)
    return normalised


def _normalise_entry(name: str, entry: object, known: Mapping[str, type]) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise ValidationError(f"strategy {name!r}: entry must be an object", FIELD)
    extra = sorted(str(key) for key in entry if key not in ("enabled", "params"))
    if extra:
        raise ValidationError(f"strategy {name!r}: unknown key {extra[0]!r}", FIELD)
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValidationError(f"strategy {name!r}: enabled must be true or false", FIELD)
    params = entry.get("params", {})
    build_strategy(name, params, known)
    return {"enabled": enabled, "params": dict(params)}


def merge_indicators(strategies: Sequence[Strategy]) -> dict[str, str]:
    """Return the union of the strategies' ``{column: spec}``.

    Raises:
        ValidationError: two strategies declare the same column with different specs.
    """
    merged: dict[str, str] = {}
    owners: dict[str, str] = {}
    for strategy in strategies:
        for name, spec in strategy.indicators.items():
            if merged.get(name, spec) != spec:
                raise ValidationError(
                    f"indicator column {name!r} is {merged[name]!r} for strategy "
                    f"{owners[name]!r} but {spec!r} for strategy {strategy.name!r}",
                    FIELD,
                )
            owners.setdefault(name, strategy.name)
            merged[name] = spec
    return merged


class StrategySet:
    """The enabled strategies of a configuration, evaluated together on each closed bar.

    Args:
        config: ``{name: {"enabled": bool, "params": {...}}}`` (see
            ``validate_strategy_config``); only enabled strategies are built.
        min_confidence: signals below this confidence are dropped, whatever the strategy.
        registry: strategy classes by name (defaults to ``STRATEGIES``).

    Raises:
        ValidationError: the configuration is invalid or two strategies need one column
            with different specs.
    """

    def __init__(
        self,
        config: Mapping[str, Mapping[str, Any]],
        min_confidence: float = 0.3,
        registry: Mapping[str, type] | None = None,
    ) -> None:
        if isinstance(min_confidence, bool) or not 0 <= min_confidence <= 1:
            raise ValidationError(
                f"min_confidence must be between 0 and 1, was {min_confidence!r}",
                "min_confidence",
            )
        self.min_confidence = float(min_confidence)
        normalised = validate_strategy_config(config, registry)
        self.strategies: tuple[Strategy, ...] = tuple(
            build_strategy(name, entry["params"], registry)
            for name, entry in sorted(normalised.items())
            if entry["enabled"]
        )
        self.indicators: dict[str, str] = merge_indicators(self.strategies)
        self.lookback: int = max([1, *(s.lookback for s in self.strategies)])

    def evaluate(self, history: Sequence[Snapshot]) -> list[Signal]:
        """Return the signals for ``history[-1]``, ordered by strategy name.

        Each strategy sees its own last ``lookback`` snapshots; signals below the set's or
        the strategy's own ``min_confidence`` are dropped.
        """
        # A deque cannot be sliced; any other sequence (a lazy look-back) is kept as it is.
        snapshots = list(history) if isinstance(history, deque) else history
        signals: list[Signal] = []
        for strategy in self.strategies:
            signal = strategy.evaluate(snapshots[-strategy.lookback :])
            floor = max(self.min_confidence, float(getattr(strategy, "min_confidence", 0.0)))
            if signal is not None and signal.confidence >= floor:
                signals.append(signal)
        return signals
