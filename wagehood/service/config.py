"""Runtime configuration kept in Redis, changeable without restarting any process.

Three sections, each a JSON document in the ``wh:config`` hash: ``indicators`` (column name ->
spec), ``strategies`` (name -> {"enabled", "params"}) and ``system`` (minimum signal
confidence, timeframes, default provider). Every change bumps ``wh:config:version``; workers
compare that number on each task and reload when it moved.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from wagehood.alerts.evaluate import BAR_FIELDS
from wagehood.errors import ValidationError
from wagehood.indicators.registry import DEFAULT_INDICATORS, build
from wagehood.service import plugins
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors
from wagehood.strategies.registry import (
    DEFAULT_STRATEGY_CONFIG,
    StrategySet,
    validate_strategy_config,
)
from wagehood.types import Timeframe

logger = logging.getLogger(__name__)

SECTIONS = ("indicators", "strategies", "system")
MAX_INDICATORS = 64
# Bar fields that sit beside indicator columns in bars, exports and alert conditions.
RESERVED_NAMES = (*BAR_FIELDS, "time", "epoch", "symbol", "timeframe")


@dataclass(frozen=True)
class RuntimeConfig:
    """The configuration every worker applies, as of ``version``."""

    indicators: dict[str, str]
    strategies: dict[str, dict[str, Any]]
    system: dict[str, Any]
    version: int = 0
    # Configured columns left out because their indicator kind is not installed (a removed
    # plugin): column -> spec. ``plugins`` reports them; the rest of the config runs.
    uninstalled: dict[str, str] = field(default_factory=dict)
    strategy_set: StrategySet = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        built = StrategySet(self.strategies, float(self.system["min_confidence"]))
        object.__setattr__(self, "strategy_set", built)

    @cached_property
    def timeframes(self) -> tuple[Timeframe, ...]:
        """Return the timeframes bars are kept for, shortest first (read once per tick)."""
        return tuple(Timeframe(tf) for tf in self.system["timeframes"])

    def to_dict(self) -> dict[str, Any]:
        """Return all sections as JSON-ready data."""
        return {
            "indicators": dict(self.indicators),
            "strategies": {k: dict(v) for k, v in self.strategies.items()},
            "system": dict(self.system),
            "version": self.version,
        }


def default_system(settings: Settings) -> dict[str, Any]:
    """Return the system section's defaults, taken from ``settings``."""
    return {
        "min_confidence": settings.signal_min_confidence,
        "timeframes": [tf.value for tf in settings.timeframes],
        "default_provider": settings.data_provider,
    }


def validate_indicators(value: Any) -> dict[str, str]:
    """Return a validated ``{column: spec}`` mapping or raise ``ValidationError``."""
    if not isinstance(value, Mapping) or not value:
        raise ValidationError("indicators must be a non-empty object of name -> spec", "indicators")
    if len(value) > MAX_INDICATORS:
        raise ValidationError(f"at most {MAX_INDICATORS} indicators", "indicators")
    result: dict[str, str] = {}
    for name, spec in value.items():
        if not isinstance(name, str) or not name.replace("_", "").isalnum() or len(name) > 40:
            raise ValidationError(f"invalid indicator name {name!r}", "indicators")
        if not isinstance(spec, str):
            raise ValidationError(f"indicator {name!r}: spec must be a string", "indicators")
        columns = [name + suffix for suffix in build(spec).outputs]
        reserved = [c for c in columns if c.lower() in RESERVED_NAMES]
        if reserved:
            raise ValidationError(
                f"indicator name {reserved[0]!r} is reserved for a bar field "
                f"({', '.join(RESERVED_NAMES)})",
                "indicators",
            )
        result[name] = spec
    return result


def validate_system(value: Any, current: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``current`` updated with a validated partial ``value``."""
    if not isinstance(value, Mapping):
        raise ValidationError("system must be an object", "system")
    unknown = set(value) - set(current)
    if unknown:
        raise ValidationError(f"unknown system setting(s): {', '.join(sorted(unknown))}", "system")
    result = dict(current)
    if "min_confidence" in value:
        result["min_confidence"] = _confidence(value["min_confidence"])
    if "timeframes" in value:
        result["timeframes"] = _timeframe_list(value["timeframes"])
    if "default_provider" in value:
        result["default_provider"] = _provider(value["default_provider"])
    return result


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError("min_confidence must be a number between 0 and 1", "min_confidence")
    return float(value)


def _timeframe_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValidationError(
            "timeframes must be a non-empty list such as ['1m', '5m']", "timeframes"
        )
    parsed = sorted({Timeframe.parse(v) for v in value}, key=lambda tf: tf.seconds)
    return [tf.value for tf in parsed]


def _provider(value: Any) -> str:
    from wagehood.providers.registry import PROVIDERS  # noqa: PLC0415 - avoid an import cycle

    if value not in PROVIDERS:
        raise ValidationError(
            f"unknown provider {value!r}; choose one of {', '.join(PROVIDERS)}", "default_provider"
        )
    return str(value)


def load_config(store: RedisStore, settings: Settings) -> RuntimeConfig:
    """Return the configuration stored in Redis, with defaults for missing sections.

    Re-reads changed ``PLUGIN_PATHS`` files first. Strategies no longer installed are ignored,
    and so are indicator columns whose kind is not installed (with the strategies that need
    one): they are listed in ``uninstalled`` and reported as missing plugins.
    """
    plugins.configure(settings)
    with translate_errors():
        raw, version = (
            store.client.pipeline(transaction=False)
            .hgetall(keys.CONFIG)
            .get(keys.CONFIG_VERSION)
            .execute()
        )
    stored = {k: json.loads(v) for k, v in raw.items() if k in SECTIONS}
    system = default_system(settings) | stored.get("system", {})
    config = RuntimeConfig(
        indicators=stored.get("indicators", dict(DEFAULT_INDICATORS)),
        strategies=plugins.installed(stored.get("strategies", _default_strategies())),
        system=system,
        version=int(version or 0),
    )
    return _without_uninstalled(config)


_WARNED: list[Any] = []  # the last uninstalled set warned about in this process


def _without_uninstalled(config: RuntimeConfig) -> RuntimeConfig:
    # Columns whose indicator kind is not installed in this process (a removed plugin) are
    # left out, with the strategies that need one: computing them would fail every close.
    missing = plugins.uninstalled(config.indicators)
    needy = {
        strategy.name: found
        for strategy in config.strategy_set.strategies
        if (found := plugins.uninstalled(strategy.indicators))
    }
    if not missing and not needy:
        return config
    for found in needy.values():
        missing |= found
    seen = (missing, sorted(needy))
    if [seen] != _WARNED:  # once per change, not on every load
        _WARNED[:] = [seen]
        logger.warning(
            "configured indicators not installed, not computed: %s; strategies ignored: %s",
            ", ".join(f"{k} = {v}" for k, v in sorted(missing.items())),
            ", ".join(sorted(needy)) or "none",
        )
    return RuntimeConfig(
        indicators={k: v for k, v in config.indicators.items() if k not in missing},
        strategies={k: v for k, v in config.strategies.items() if k not in needy},
        system=config.system,
        version=config.version,
        uninstalled=missing,
    )


def config_version(store: RedisStore) -> int:
    """Return the current configuration version (0 before any change)."""
    with translate_errors():
        return int(store.client.get(keys.CONFIG_VERSION) or 0)


def save_section(store: RedisStore, settings: Settings, section: str, value: Any) -> RuntimeConfig:
    """Validate and store one section; return the new configuration.

    Raises:
        ValidationError: the value is invalid, or the combination of indicators and
            strategies conflicts (the same column with two specs).
    """
    current = load_config(store, settings)
    if section == "indicators":
        candidate = {**current.to_dict(), "indicators": validate_indicators(value)}
    elif section == "strategies":
        candidate = {**current.to_dict(), "strategies": validate_strategy_config(value)}
    elif section == "system":
        candidate = {**current.to_dict(), "system": validate_system(value, current.system)}
    else:
        raise ValidationError(f"unknown config section {section!r}", "section")
    checked = _check(candidate)
    with translate_errors():
        pipe = store.client.pipeline(transaction=True)
        pipe.hset(keys.CONFIG, section, json.dumps(candidate[section]))
        pipe.incr(keys.CONFIG_VERSION)
        _, version = pipe.execute()
    plugins.clear_disabled(store, checked.strategies)
    return RuntimeConfig(checked.indicators, checked.strategies, checked.system, int(version))


def _check(candidate: Mapping[str, Any]) -> RuntimeConfig:
    from wagehood.engine import merge_specs  # noqa: PLC0415 - engine imports this module's peers

    config = RuntimeConfig(
        dict(candidate["indicators"]), dict(candidate["strategies"]), dict(candidate["system"])
    )
    merge_specs(config.indicators, config.strategy_set)
    return config


def _default_strategies() -> dict[str, dict[str, Any]]:
    return {name: dict(value) for name, value in DEFAULT_STRATEGY_CONFIG.items()}
