"""Plugins at run time: the catalog set up from settings, failures recorded, trips acted on.

The guards (``wagehood.plugins.guard``) count failures inside each process; ``record`` runs
after each strategy step and indicator step and moves them to Redis: the failure counters, the
disabled plugins (a health alert each, see ``health_alerts``), and for a disabled strategy a change
of the runtime configuration that disables it for every worker. Enabling it again through
``config/strategies`` clears the health alert.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from wagehood.indicators.registry import kinds, parse_spec
from wagehood.plugins import guard
from wagehood.plugins.loader import CATALOG, PluginInfo, configure
from wagehood.plugins.params import parameter_schema
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors
from wagehood.strategies.registry import STRATEGIES, available

logger = logging.getLogger(__name__)

__all__ = [
    "clear_disabled",
    "complete",
    "configure",
    "disabled",
    "installed",
    "missing_rows",
    "problems",
    "record",
    "report",
    "strategy_schemas",
    "uninstalled",
]


def installed(strategies: Mapping[str, Any]) -> dict[str, Any]:
    """Return the stored strategy entries whose strategy is available in this process."""
    known = available()
    missing = sorted(name for name in strategies if name not in known)
    if missing:
        logger.warning("configured strategies not installed, ignored: %s", ", ".join(missing))
    return {name: entry for name, entry in strategies.items() if name in known}


def uninstalled(specs: Mapping[str, str]) -> dict[str, str]:
    """Return the columns of ``specs`` whose indicator kind is not installed here (column -> spec).

    A configured plugin indicator whose package was removed (or whose file no longer loads)
    is left out of the running configuration instead of failing every bar close.
    """
    known = kinds()
    return {name: spec for name, spec in specs.items() if parse_spec(spec)[0] not in known}


def missing_rows(columns: Mapping[str, str]) -> list[dict[str, Any]]:
    """Return one ``report`` row per indicator kind configured in ``columns`` but not installed."""
    by_kind: dict[str, list[str]] = {}
    for name, spec in sorted(columns.items()):
        by_kind.setdefault(parse_spec(spec)[0], []).append(f"{name} = {spec}")
    return [
        PluginInfo(
            name=kind,
            kind="indicator",
            package="-",
            version="-",
            interface=None,
            status="missing",
            origin="config",
            error=f"configured ({'; '.join(uses)}) but not installed: not computed",
        ).to_dict()
        for kind, uses in by_kind.items()
    ]


def complete(strategies: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``strategies`` with every other available strategy listed as disabled."""
    absent = {"enabled": False, "params": {}}
    return {name: dict(strategies.get(name, absent)) for name in sorted(available())}


def record(store: RedisStore) -> None:
    """Move this process's plugin failures and trips to Redis (nothing to do: no I/O)."""
    counts, trips = guard.drain()
    if not counts and not trips:
        return
    with translate_errors():
        pipe = store.client.pipeline(transaction=False)
        for (kind, name), count in counts.items():
            pipe.hincrby(keys.PLUGIN_FAILURES, f"{kind}:{name}", count)
        for kind, name, reason in trips:
            entry = {"kind": kind, "name": name, "reason": reason, "at": time.time()}
            pipe.hset(keys.PLUGINS_DISABLED, f"{kind}:{name}", json.dumps(entry))
        pipe.execute()
        for kind, name, _ in trips:
            if kind == "strategy":
                _disable_strategy(store, name)


def _disable_strategy(store: RedisStore, name: str) -> None:
    # Turn ``enabled`` off in the stored strategies section and bump the config version.
    def update(pipe: Any) -> None:
        raw = pipe.hget(keys.CONFIG, "strategies")
        config = json.loads(raw) if raw else {}
        entry = config.get(name)
        if not isinstance(entry, dict) or not entry.get("enabled", True):
            return
        config[name] = entry | {"enabled": False}
        pipe.multi()
        pipe.hset(keys.CONFIG, "strategies", json.dumps(config))
        pipe.incr(keys.CONFIG_VERSION)

    store.client.transaction(update, keys.CONFIG)
    logger.error("plugin strategy %r disabled in the configuration", name)


def clear_disabled(store: RedisStore, strategies: Mapping[str, Mapping[str, Any]]) -> None:
    """Forget the trips of plugins a new configuration re-enables (every indicator, and
    the strategies it enables)."""
    with translate_errors():
        tripped = store.client.hkeys(keys.PLUGINS_DISABLED)
        enabled = {f"strategy:{n}" for n, entry in strategies.items() if entry.get("enabled")}
        stale = [f for f in tripped if f.startswith("indicator:") or f in enabled]
        if stale:
            store.client.hdel(keys.PLUGINS_DISABLED, *stale)


def disabled(store: RedisStore) -> dict[str, dict[str, Any]]:
    """Return the plugins disabled after failures, by ``"<kind>:<name>"``."""
    with translate_errors():
        raw = store.client.hgetall(keys.PLUGINS_DISABLED)
    return {field: json.loads(value) for field, value in raw.items()}


def report(
    store: RedisStore | None = None, uninstalled: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Return every plugin found (status, origin, error), with its failures if ``store``.

    ``uninstalled`` (``RuntimeConfig.uninstalled``) adds a ``missing`` row per indicator kind
    the configuration uses but this process does not have.
    """
    rows = [info.to_dict() for info in CATALOG.infos()] + missing_rows(uninstalled or {})
    if store is None:
        return rows
    with translate_errors():
        failures = store.client.hgetall(keys.PLUGIN_FAILURES)
    tripped = disabled(store)
    for row in rows:
        field = f"{row['kind']}:{row['name']}"
        row["failures"] = int(failures.get(field, 0))
        if field in tripped and row["status"] == "loaded":
            row |= {"status": "disabled", "error": tripped[field]["reason"]}
    return rows


def problems() -> list[dict[str, Any]]:
    """Return the plugins of this process that failed to import or were refused."""
    return [info.to_dict() for info in CATALOG.infos() if info.status in ("failed", "refused")]


def strategy_schemas() -> dict[str, dict[str, Any]]:
    """Return every available strategy's origin and parameter schema, by name."""
    return {
        name: {"plugin": name not in STRATEGIES, "parameters": parameter_schema(cls)}
        for name, cls in sorted(available().items())
    }
