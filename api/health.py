"""Health checks and derived alerts: Redis, broker, workers, beat, data freshness, breakers.

Each check answers ``{"status": "ok"|"degraded"|"down", ...}`` and never raises: a check that
cannot reach what it checks reports that instead. The monitoring issue deepens these.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from celery import Celery

from wagehood import __version__
from wagehood.errors import TemporaryError, WagehoodError
from wagehood.service import deadletters, watchlist
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


def broker_check(celery: Celery) -> dict[str, Any]:
    """Open a connection to the Celery broker."""
    with celery.connection_for_write() as connection:
        try:
            connection.ensure_connection(max_retries=1, timeout=2)
        except Exception as error:  # kombu raises several unrelated types here
            raise TemporaryError(f"broker unreachable: {type(error).__name__}") from error
    return {"status": "ok"}


def workers_check(celery: Celery) -> dict[str, Any]:
    """Ping the workers through the broker with a short timeout."""
    try:
        replies = celery.control.ping(timeout=WORKER_PING_SECONDS) or []
    except Exception as error:  # the broker failing mid-broadcast surfaces as kombu errors
        raise TemporaryError(f"worker ping failed: {type(error).__name__}") from error
    names = sorted(name for reply in replies for name in reply)
    return {"status": "ok" if names else "degraded", "alive": len(names), "workers": names}


def stale_after(settings: Settings) -> float:
    """Return the age (s) past which a symbol or beat's heartbeat counts as stale."""
    return max(3 * settings.data_update_interval, 10.0)


def beat_check(store: RedisStore, settings: Settings) -> dict[str, Any]:
    """Check beat's heartbeat age."""
    with translate_errors():
        raw = store.client.get(keys.BEAT_HEARTBEAT)
    if raw is None:
        return {"status": "degraded", "age_seconds": None, "detail": "no heartbeat yet"}
    age = max(0.0, time.time() - float(raw))
    status = "ok" if age <= stale_after(settings) else "degraded"
    return {"status": status, "age_seconds": round(age, 3)}


def symbol_ages(store: RedisStore) -> dict[str, float | None]:
    """Return seconds since each watched symbol's last quote (None: never)."""
    symbols = [entry.symbol for entry in watchlist.entries(store)]
    times = store.pipeline_reads([("hget", (keys.live(s), "time")) for s in symbols])
    now = time.time()
    return {
        s: (round(now - float(t), 3) if t is not None else None)
        for s, t in zip(symbols, times, strict=True)
    }


def freshness_check(store: RedisStore, settings: Settings) -> dict[str, Any]:
    """Check that every watched symbol was updated recently."""
    ages = symbol_ages(store)
    limit = stale_after(settings)
    stale = sorted(s for s, age in ages.items() if age is None or age > limit)
    status = "ok" if not stale else "degraded"
    return {"status": status, "symbols": len(ages), "stale": stale[:100], "stale_count": len(stale)}


def breakers_check(store: RedisStore) -> dict[str, Any]:
    """Report the circuit breaker of every provider in use."""
    providers = sorted({e.data_provider for e in watchlist.entries(store)})
    with translate_errors():
        states = {p: breaker_state(store.client, p) for p in providers}
    status = "ok" if all(s == "closed" for s in states.values()) else "degraded"
    return {"status": status, "providers": states}


def health(store: RedisStore, settings: Settings, celery: Celery, detailed: bool) -> dict[str, Any]:
    """Return the overall status and the per-component checks."""
    components = {"redis": guarded(lambda: redis_check(store))}
    if components["redis"]["status"] == "ok":
        components |= {
            "broker": guarded(lambda: broker_check(celery)),
            "workers": guarded(lambda: workers_check(celery)),
            "beat": guarded(lambda: beat_check(store, settings)),
            "data": guarded(lambda: freshness_check(store, settings)),
            "breakers": guarded(lambda: breakers_check(store)),
        }
    statuses = {c["status"] for c in components.values()}
    overall = "down" if components["redis"]["status"] != "ok" else "ok"
    if overall == "ok" and statuses - {"ok"}:
        overall = "degraded"
    if not detailed:
        components = {
            k: {f: v for f, v in c.items() if f != "latency_ms"} for k, c in components.items()
        }
    body: dict[str, Any] = {"status": overall, "time": time.time(), "components": components}
    if detailed:
        body["version"] = __version__
    return body


def alerts(store: RedisStore, settings: Settings, celery: Celery) -> list[dict[str, Any]]:
    """Return the active alerts: derived from the checks, plus those stored by the system."""
    now = time.time()
    found: list[dict[str, Any]] = []
    limit = stale_after(settings)
    for symbol, age in symbol_ages(store).items():
        if age is None or age > limit:
            since = now - age + limit if age is not None else None
            found.append(
                _alert(f"stale:{symbol}", "warning", f"{symbol} has no fresh data", since, now)
            )
    beat = beat_check(store, settings)
    if beat["status"] != "ok":
        found.append(_alert("beat", "critical", "beat heartbeat missing or stale", None, now))
    if guarded(lambda: workers_check(celery))["status"] != "ok":
        found.append(_alert("workers", "critical", "no worker answered a ping", None, now))
    for provider, breaker in breakers_check(store)["providers"].items():
        if breaker != "closed":
            found.append(
                _alert(f"breaker:{provider}", "warning", f"{provider} circuit {breaker}", None, now)
            )
    dead = deadletters.total(store)
    if dead:
        found.append(_alert("deadletters", "warning", f"{dead} dead-lettered task(s)", None, now))
    return found + stored_alerts(store)


def stored_alerts(store: RedisStore) -> list[dict[str, Any]]:
    """Return the alerts other processes recorded in ``wh:alerts``."""
    with translate_errors():
        raw = store.client.hgetall(keys.ALERTS)
    return [json.loads(value) | {"id": key} for key, value in sorted(raw.items())]


def _alert(
    alert_id: str, severity: str, message: str, first_seen: float | None, last_seen: float
) -> dict[str, Any]:
    return {
        "id": alert_id,
        "severity": severity,
        "message": message,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "active": True,
    }
