"""System health: the checks behind ``/monitor/health``, each a few reads of Redis.

Worker liveness comes from the heartbeats the workers write (``monitoring.workers_alive``),
never from a broadcast through the broker, so a check holds no broker connection and waits
for nothing but Redis replies (bounded by the client's socket timeout). ``SharedResult`` lets
any number of concurrent requests share one computation a second.

Each check answers ``{"status": "ok"|"degraded"|"down", ...}`` and never raises: a check that
cannot reach what it checks reports that instead. Overall ``down`` means Redis or the broker is
unreachable; any other failing check makes it ``degraded``. When Redis itself is the cause
(unreachable, refusing writes, memory critical) the body names it in ``cause``, and the checks
that only fail because of it (beat, workers, data) say so instead of blaming those processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from wagehood.errors import TemporaryError, WagehoodError
from wagehood.service import budgets, monitoring, plugins, watchlist
from wagehood.service.config import load_config
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import WRITES_REFUSED, RedisStore, translate_errors

Check = Callable[[], dict[str, Any]]

MEMORY_WARNING = 0.80
MEMORY_CRITICAL = 0.95
PROBE_MS = 10_000
BLOCKED = ("workers", "io", "beat", "data")  # checks that fail whenever Redis refuses writes
IO_DOWN = "no io worker is alive: webhook deliveries and exports wait in their queues"
DETAILS = frozenset({"latency_ms", "error", "workers", "stale"})  # hosts, symbols, internals


def guarded(check: Check) -> dict[str, Any]:
    """Run ``check``; a failure to reach its target is a ``down`` result, not an exception."""
    started = time.perf_counter()
    try:
        result = check()
    except (WagehoodError, OSError, ConnectionError) as error:
        result = {"status": "down", "error": str(error)[:200]}
    return result | {"latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def redis_check(store: RedisStore) -> dict[str, Any]:
    """Ping Redis and write a short-lived probe key: a refused write names its cause."""
    with translate_errors():
        store.client.ping()
    try:
        with translate_errors():
            store.client.set(keys.HEALTH_PROBE, "1", px=PROBE_MS)
    except TemporaryError as error:
        if not str(error).startswith(WRITES_REFUSED):
            raise
        return {"status": "degraded", "writes": "refused", "cause": str(error)}
    return {"status": "ok", "writes": "accepted"}


def memory_check(store: RedisStore) -> dict[str, Any]:
    """Report Redis memory used against ``maxmemory`` (warning at 80%, critical at 95%)."""
    found = monitoring.redis_memory(store)
    used, limit = found["used_bytes"] or 0, found["max_bytes"]
    ratio = round(used / limit, 4) if limit else None
    level = memory_level(ratio)
    body = {"status": "ok" if level == "ok" else "degraded", "level": level}
    return body | {"used_bytes": used, "max_bytes": limit, "ratio": ratio}


def memory_level(ratio: float | None) -> str:
    """Return ``ok``, ``warning`` (>= 80%) or ``critical`` (>= 95%) for a used/max ratio."""
    if ratio is None or ratio < MEMORY_WARNING:
        return "ok"
    return "critical" if ratio >= MEMORY_CRITICAL else "warning"


def workers_check(store: RedisStore) -> dict[str, Any]:
    """Count the workers whose heartbeat is recent."""
    names = monitoring.workers_alive(store)
    return {"status": "ok" if names else "degraded", "alive": len(names), "workers": names}


def io_check(store: RedisStore) -> dict[str, Any]:
    """Count the io workers (deliveries and exports queues) whose heartbeat is recent."""
    names = monitoring.workers_alive(store, key=keys.IO_WORKERS)
    body = {"status": "ok" if names else "degraded", "alive": len(names), "workers": names}
    return body if names else body | {"message": IO_DOWN}


def beat_check(store: RedisStore, settings: Settings) -> dict[str, Any]:
    """Check beat's own heartbeat and the age of its last dispatched tick."""
    process = monitoring.heartbeat_age(store, keys.BEAT_PROCESS)
    dispatch = monitoring.heartbeat_age(store, keys.BEAT_HEARTBEAT)
    limit = monitoring.stale_after(settings)
    fresh = all(age is not None and age <= limit for age in (process, dispatch))
    body = {"status": "ok" if fresh else "degraded", "age_seconds": dispatch}
    return body | {"process_age_seconds": process}


def freshness_check(store: RedisStore, settings: Settings) -> dict[str, Any]:
    """Check that every watched symbol was updated recently."""
    ages = monitoring.symbol_ages(store)
    limit = monitoring.stale_after(settings)
    stale = sorted(s for s, age in ages.items() if age is None or age > limit)
    known = [age for age in ages.values() if age is not None]
    return {
        "status": "ok" if not stale else "degraded",
        "symbols": len(ages),
        "stale": stale[:100],
        "stale_count": len(stale),
        "max_age_seconds": max(known, default=None),
    }


def breakers_check(store: RedisStore) -> dict[str, Any]:
    """Report the circuit breaker of every provider in use."""
    states = monitoring.circuit_states(store)
    status = "ok" if all(s == "closed" for s in states.values()) else "degraded"
    return {"status": status, "providers": states}


def plugins_check(store: RedisStore, settings: Settings) -> dict[str, Any]:
    """Report plugins that failed to import or were refused, and configured ones not installed."""
    uninstalled = load_config(store, settings).uninstalled
    problems = plugins.problems() + plugins.missing_rows(uninstalled)
    return {"status": "degraded" if problems else "ok", "problems": problems}


def redis_cause(components: dict[str, dict[str, Any]]) -> str | None:
    """Return the Redis condition that explains other failures, if there is one."""
    redis_status = components["redis"]
    if redis_status["status"] == "down":
        return "Redis unreachable"
    if redis_status.get("cause"):
        return str(redis_status["cause"])
    if components.get("memory", {}).get("level") == "critical":
        return "Redis memory critical: over 95% of maxmemory"
    return None


def components(store: RedisStore, settings: Settings, broker: Check) -> dict[str, Any]:
    """Run every check (only Redis when Redis is unreachable)."""
    found = {"redis": guarded(lambda: redis_check(store))}
    if found["redis"]["status"] == "down":
        return found
    return found | {
        "memory": guarded(lambda: memory_check(store)),
        "broker": guarded(broker),
        "workers": guarded(lambda: workers_check(store)),
        "io": guarded(lambda: io_check(store)),
        "beat": guarded(lambda: beat_check(store, settings)),
        "data": guarded(lambda: freshness_check(store, settings)),
        "breakers": guarded(lambda: breakers_check(store)),
        "budgets": guarded(lambda: budgets.status(store, settings, watchlist.entries(store))),
        "plugins": guarded(lambda: plugins_check(store, settings)),
    }


def overall_status(found: dict[str, dict[str, Any]]) -> str:
    """Return ``down`` if Redis or the broker is unreachable, else ``degraded`` or ``ok``."""
    essential = (found.get(name, {"status": "down"})["status"] for name in ("redis", "broker"))
    if any(status == "down" for status in essential):
        return "down"
    return "ok" if all(c["status"] == "ok" for c in found.values()) else "degraded"


def report(store: RedisStore, settings: Settings, broker: Check) -> dict[str, Any]:
    """Return the full health report: overall status, cause and every component's details."""
    found = components(store, settings, broker)
    cause = redis_cause(found)
    if cause:
        for name in BLOCKED:
            if name in found and found[name]["status"] != "ok":
                found[name]["blocked_by"] = cause
    return {"status": overall_status(found), "cause": cause, "time": time.time()} | {
        "components": found
    }


def public_view(body: dict[str, Any]) -> dict[str, Any]:
    """Return ``body`` without what only an authenticated caller sees (host names, errors)."""
    trimmed = {
        name: {k: v for k, v in check.items() if k not in DETAILS}
        for name, check in body["components"].items()
    }
    public = {k: v for k, v in body.items() if k not in ("version", "versions")}
    return public | {"components": trimmed}


class SharedResult:
    """One computation at a time, shared by every caller for ``ttl`` seconds.

    A caller that finds the result older than ``ttl`` computes it if no one else is; the
    others wait at most ``wait`` seconds for it, then get the previous result (or
    ``fallback()`` when there is none yet) marked ``stale``. So concurrent callers cost one
    computation, and none waits longer than ``wait`` when what it checks hangs.
    """

    def __init__(
        self, compute: Check, fallback: Check, ttl: float = 1.0, wait: float = 2.0
    ) -> None:
        """Share ``compute``'s result for ``ttl`` s; callers wait at most ``wait`` s."""
        self.compute, self.fallback, self.ttl, self.wait = compute, fallback, ttl, wait
        self.lock = threading.Lock()
        self.result: dict[str, Any] | None = None
        self.at = 0.0

    def get(self) -> dict[str, Any]:
        """Return a result at most ``ttl`` old, or the latest one marked stale."""
        if self.result is not None and time.monotonic() - self.at < self.ttl:
            return self.result
        if not self.lock.acquire(timeout=self.wait):
            return (self.result or self.fallback()) | {"stale": True}
        try:
            if self.result is None or time.monotonic() - self.at >= self.ttl:
                self.result, self.at = self.compute(), time.monotonic()
            return self.result
        finally:
            self.lock.release()
