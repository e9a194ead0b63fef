"""Health checks: Redis, broker, workers, beat, data freshness, breakers, request budgets.

Each check answers ``{"status": "ok"|"degraded"|"down", ...}`` and never raises: a check that
cannot reach what it checks reports that instead. Overall ``down`` means the API cannot report
(Redis or the broker unreachable); any other failing check makes it ``degraded``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import time
from collections.abc import Callable
from typing import Any

import celery
from celery import Celery

from wagehood import __version__
from wagehood.errors import TemporaryError, WagehoodError
from wagehood.service import alerts as system_alerts
from wagehood.service import budgets, monitoring, watchlist
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.breaker import breaker_state
from wagehood.storage.redis_store import RedisStore, translate_errors

logger = logging.getLogger(__name__)

WORKER_PING_SECONDS = 0.5
Check = Callable[[], dict[str, Any]]


def guarded(check: Check) -> dict[str, Any]:
    """Run ``check``; a failure to reach its target is a ``down`` result, not an exception."""
    started = time.perf_counter()
    try:
        result = check()
    except (WagehoodError, OSError, ConnectionError) as error:
        result = {"status": "down", "error": str(error)[:200]}
    return result | {"latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def redis_check(store: RedisStore) -> dict[str, Any]:
    """Ping Redis."""
    with translate_errors():
        store.client.ping()
    return {"status": "ok"}


def broker_check(app: Celery) -> dict[str, Any]:
    """Open a connection to the Celery broker."""
    with app.connection_for_write() as connection:
        try:
            connection.ensure_connection(max_retries=1, timeout=2)
        except Exception as error:  # kombu raises several unrelated types here
            raise TemporaryError(f"broker unreachable: {type(error).__name__}") from error
    return {"status": "ok"}


def workers_check(app: Celery) -> dict[str, Any]:
    """Ping the workers through the broker with a short timeout."""
    try:
        replies = app.control.ping(timeout=WORKER_PING_SECONDS) or []
    except Exception as error:  # the broker failing mid-broadcast surfaces as kombu errors
        raise TemporaryError(f"worker ping failed: {type(error).__name__}") from error
    names = sorted(name for reply in replies for name in reply)
    return {"status": "ok" if names else "degraded", "alive": len(names), "workers": names}


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
    status = "ok" if not stale else "degraded"
    known = [age for age in ages.values() if age is not None]
    return {
        "status": status,
        "symbols": len(ages),
        "stale": stale[:100],
        "stale_count": len(stale),
        "max_age_seconds": max(known, default=None),
    }


def breakers_check(store: RedisStore) -> dict[str, Any]:
    """Report the circuit breaker of every provider in use."""
    providers = sorted({e.data_provider for e in watchlist.entries(store)})
    with translate_errors():
        states = {p: breaker_state(store.client, p) for p in providers}
    status = "ok" if all(s == "closed" for s in states.values()) else "degraded"
    return {"status": status, "providers": states}


def versions(store: RedisStore) -> dict[str, str | None]:
    """Return the versions of Wagehood, Python and the servers and libraries it runs on."""
    try:
        with translate_errors():
            redis_version = str(store.client.info("server").get("redis_version"))
    except TemporaryError:
        redis_version = None
    return {
        "wagehood": __version__,
        "python": platform.python_version(),
        "redis": redis_version,
        "celery": celery.__version__,
        "flask": importlib.metadata.version("flask"),
    }


def health(store: RedisStore, settings: Settings, app: Celery, detailed: bool) -> dict[str, Any]:
    """Return the overall status and the per-component checks."""
    components = {"redis": guarded(lambda: redis_check(store))}
    if components["redis"]["status"] == "ok":
        components |= {
            "broker": guarded(lambda: broker_check(app)),
            "workers": guarded(lambda: workers_check(app)),
            "beat": guarded(lambda: beat_check(store, settings)),
            "data": guarded(lambda: freshness_check(store, settings)),
            "breakers": guarded(lambda: breakers_check(store)),
            "budgets": guarded(lambda: budgets.status(store, settings, watchlist.entries(store))),
        }
    overall = overall_status(components)
    if not detailed:
        components = {
            k: {f: v for f, v in c.items() if f != "latency_ms"} for k, c in components.items()
        }
    body: dict[str, Any] = {"status": overall, "time": time.time(), "components": components}
    if detailed:
        body["version"] = __version__
        body["versions"] = versions(store) if overall != "down" else {"wagehood": __version__}
    return body


def overall_status(components: dict[str, dict[str, Any]]) -> str:
    """Return ``down`` if Redis or the broker is unreachable, else ``degraded`` or ``ok``."""
    essential = (components.get(name, {"status": "down"})["status"] for name in ("redis", "broker"))
    if any(status != "ok" for status in essential):
        return "down"
    return "ok" if all(c["status"] == "ok" for c in components.values()) else "degraded"


def alerts(store: RedisStore, settings: Settings, app: Celery) -> list[dict[str, Any]]:
    """Evaluate the alert conditions now (workers counted by ping) and return the active ones."""
    ping = guarded(lambda: workers_check(app))
    alive = ping.get("alive") if ping["status"] != "down" else None
    return system_alerts.evaluate(store, settings, alive)
