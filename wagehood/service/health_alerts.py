"""Health alerts: system-health conditions raised and cleared by the system itself.

``evaluate`` checks every condition (Redis refusing writes or near ``maxmemory``, stale
symbol, no worker alive, no io worker alive, beat down or not dispatching, queue backlog
growing, provider circuit open, error rate, recent dead letters) and reconciles the
``wh:alerts`` hash with what it found: a new condition is raised with its ``first_seen``, a
continuing one gets a new ``last_seen``, a condition gone is cleared. Both transitions are
appended to the ``wh:alerts:history`` stream. A Celery task scheduled by beat runs it every
few seconds; the API runs it too when asked for alerts, so alerts about beat or the workers
themselves being down are raised even when no evaluator task can run.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from wagehood.errors import TemporaryError
from wagehood.service import health, monitoring, plugins, watchlist
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import WRITES_REFUSED, RedisStore, translate_errors

logger = logging.getLogger(__name__)

HISTORY_MAXLEN = 1_000
LOCK_MS = 2_000
BACKLOG_MIN = 50
BACKLOG_LOOKBACK = 10.0
ERROR_RATIO = 0.05
ERRORS_MIN = 3
STALE_ALERTS_MAX = 100


@dataclass(frozen=True)
class Condition:
    """One alert condition found true right now."""

    id: str
    severity: str  # "warning" | "critical"
    message: str


def dead_letter_window(settings: Settings) -> float:
    """Return how long (s) a dead-lettered message keeps its alert raised."""
    return max(30.0, 30 * settings.data_update_interval)


def conditions(store: RedisStore, settings: Settings, counters: dict[str, int]) -> list[Condition]:
    """Return every condition that holds now.

    While Redis refuses writes, nothing else is reported but the provider circuits: stale
    symbols, silent beat and workers, backlog and errors all follow from the refusal, and
    naming them would send an operator to restart the wrong process.
    """
    found = _redis(store)
    if any(c.id == "redis_writes" for c in found):
        return found + _breakers(store)
    found += _stale_symbols(store, settings)
    if not monitoring.workers_alive(store):
        found.append(Condition("workers", "critical", "no worker is alive"))
    if not monitoring.workers_alive(store, key=keys.IO_WORKERS):
        found.append(Condition("io", "critical", health.IO_DOWN))
    found += _beat(store, settings) + _breakers(store) + _backlog(store, counters["queued"])
    found += _errors(store, counters)
    found += _dead_letters(store, settings)
    return found + _plugins(store)


def _redis(store: RedisStore) -> list[Condition]:
    found = []
    writes = health.redis_check(store)
    if writes["status"] != "ok":
        found.append(Condition("redis_writes", "critical", str(writes["cause"])))
    memory = health.memory_check(store)
    if memory["level"] != "ok":
        severity = "critical" if memory["level"] == "critical" else "warning"
        used, limit = memory["used_bytes"] / 2**20, memory["max_bytes"] / 2**20
        text = f"Redis memory at {memory['ratio']:.0%} of maxmemory ({used:.0f} of {limit:.0f} MiB)"
        found.append(Condition("redis_memory", severity, text))
    return found


def _stale_symbols(store: RedisStore, settings: Settings) -> list[Condition]:
    limit, now = monitoring.stale_after(settings), time.time()
    entries = {e.symbol: e for e in watchlist.entries(store)}
    found = []
    for symbol, age in monitoring.symbol_ages(store).items():
        watched_for = now - entries[symbol].added_at if symbol in entries else limit + 1
        if (age is None and watched_for > limit) or (age is not None and age > limit):
            text = "never updated" if age is None else f"last update {age:.0f}s ago"
            found.append(Condition(f"stale:{symbol}", "warning", f"{symbol}: {text}"))
    return found[:STALE_ALERTS_MAX]


def _beat(store: RedisStore, settings: Settings) -> list[Condition]:
    limit = monitoring.stale_after(settings)
    process = monitoring.heartbeat_age(store, keys.BEAT_PROCESS)
    if process is None or process > limit:
        return [Condition("beat", "critical", "beat is not running (no heartbeat)")]
    dispatch = monitoring.heartbeat_age(store, keys.BEAT_HEARTBEAT)
    if dispatch is None or dispatch > limit:
        return [Condition("dispatch", "critical", "ticks are not being dispatched")]
    return []


def _breakers(store: RedisStore) -> list[Condition]:
    return [
        Condition(f"breaker:{p}", "warning", f"{p} circuit {s}: provider failing")
        for p, s in monitoring.circuit_states(store).items()
        if s != "closed"
    ]


def _backlog(store: RedisStore, depth: int) -> list[Condition]:
    with translate_errors():
        raw = store.client.lrange(keys.STATS_SAMPLES, 0, -1)
    then = [s for s in map(json.loads, raw) if s["t"] <= time.time() - BACKLOG_LOOKBACK]
    before = then[0].get("queued", 0) if then else None
    if depth >= BACKLOG_MIN and before is not None and depth > before:
        text = f"queue backlog growing: {before} -> {depth} messages"
        return [Condition("backlog", "warning", text)]
    return []


def _errors(store: RedisStore, counters: dict[str, int]) -> list[Condition]:
    found = monitoring.rates(store, counters)
    ratio, recent = found["error_ratio"], found["errors"] or 0
    if ratio is not None and ratio > ERROR_RATIO and recent >= ERRORS_MIN:
        return [Condition("error_rate", "warning", f"{ratio:.0%} of recent tasks failed")]
    return []


def _dead_letters(store: RedisStore, settings: Settings) -> list[Condition]:
    window = dead_letter_window(settings)
    start = int((time.time() - window) * 1000)
    with translate_errors():
        recent = store.client.xrange(keys.DEAD_LETTERS, f"{start}-0", "+", count=1000)
    if not recent:
        return []
    text = f"{len(recent)} message(s) dead-lettered in the last {window:.0f}s"
    return [Condition("dead_letters", "warning", text)]


def _plugins(store: RedisStore) -> list[Condition]:
    return [
        Condition(f"plugin:{field}", "warning", f"plugin {e['kind']} {e['name']!r} {e['reason']}")
        for field, e in plugins.disabled(store).items()
    ]


def evaluate(store: RedisStore, settings: Settings) -> list[dict[str, Any]]:
    """Reconcile stored alerts with the conditions found now; return the active alerts.

    While Redis refuses writes the alerts cannot be stored: the conditions found now are
    returned as they are (``"stored": false``), so the cause is still reported.
    """
    try:
        return _evaluate_and_store(store, settings)
    except TemporaryError as error:
        if not str(error).startswith(WRITES_REFUSED):
            raise
        now = time.time()
        found = conditions(store, settings, monitoring.current_counters(store))
        alerts = [_alert(c, now, now) | {"stored": False} for c in found]
        return sorted(alerts, key=lambda a: (a["severity"] != "critical", a["id"]))


def _evaluate_and_store(store: RedisStore, settings: Settings) -> list[dict[str, Any]]:
    with translate_errors():
        if not store.client.set(keys.ALERTS_LOCK, "1", nx=True, px=LOCK_MS):
            return active(store)  # another process is evaluating right now
        try:
            counters = monitoring.current_counters(store)
            _reconcile(store, conditions(store, settings, counters))
            monitoring.sample(store, counters)
        finally:
            store.client.delete(keys.ALERTS_LOCK)
    return active(store)


def _reconcile(store: RedisStore, found: list[Condition]) -> None:
    now = time.time()
    stored = {k: json.loads(v) for k, v in store.client.hgetall(keys.ALERTS).items()}
    current = {c.id: c for c in found}
    pipe = store.client.pipeline(transaction=True)
    for condition in found:
        previous = stored.get(condition.id)
        alert = _alert(condition, previous["first_seen"] if previous else now, now)
        pipe.hset(keys.ALERTS, condition.id, json.dumps(alert))
        if previous is None:
            logger.warning("alert raised: %s (%s)", condition.message, condition.severity)
            _history(pipe, "raised", alert)
    for alert_id, alert in stored.items():
        if alert_id not in current:
            logger.info("alert cleared: %s", alert.get("message"))
            pipe.hdel(keys.ALERTS, alert_id)
            _history(pipe, "cleared", alert | {"cleared_at": now, "active": False})
    pipe.execute()


def _alert(condition: Condition, first_seen: float, last_seen: float) -> dict[str, Any]:
    return {
        "id": condition.id,
        "severity": condition.severity,
        "message": condition.message,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "active": True,
    }


def _history(pipe: Any, event: str, alert: dict[str, Any]) -> None:
    entry = {"event": event, "alert": json.dumps(alert)}
    pipe.xadd(keys.ALERTS_HISTORY, entry, maxlen=HISTORY_MAXLEN, approximate=True)


def active(store: RedisStore) -> list[dict[str, Any]]:
    """Return the active alerts, critical first, then oldest first."""
    with translate_errors():
        raw = store.client.hgetall(keys.ALERTS)
    alerts = [json.loads(value) for value in raw.values()]
    return sorted(alerts, key=lambda a: (a["severity"] != "critical", a["first_seen"], a["id"]))


def recent(store: RedisStore, count: int = 50) -> list[dict[str, Any]]:
    """Return the latest raised/cleared events, newest first."""
    with translate_errors():
        entries = store.client.xrevrange(keys.ALERTS_HISTORY, count=count)
    return [
        json.loads(fields["alert"]) | {"event": fields["event"], "event_id": entry_id}
        for entry_id, fields in entries
    ]
