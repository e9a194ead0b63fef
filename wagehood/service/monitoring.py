"""Figures about the running system, kept in Redis so any number of processes aggregate.

Workers count into Redis (``wh:stats`` counters, ``wh:stats:tasks`` duration buckets,
``wh:workers`` heartbeats); the web process reads them for ``/stats`` and ``/metrics``, so two
worker processes or ten hosts add up by construction. Rates (bars/s, tasks/s, error rate) come
from counter snapshots in ``wh:stats:samples``, taken by the alert evaluator and by readers.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from wagehood.errors import TemporaryError
from wagehood.service import deadletters, stats, sync, watchlist
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.breaker import breaker_state, history_circuit
from wagehood.storage.redis_store import RedisStore, translate_errors

logger = logging.getLogger(__name__)

QUEUES = ("celery", "celery\x06\x163", "celery\x06\x166", "celery\x06\x169")
WORKER_ALIVE_SECONDS = 15.0
SAMPLES = 120
SAMPLE_EVERY = 1.0
RATE_WINDOW = 30.0


def stale_after(settings: Settings) -> float:
    """Return the age (s) past which a symbol or a heartbeat counts as stale."""
    return max(3 * settings.data_update_interval, 10.0)


def record_task(store: RedisStore, task: str, seconds: float, failed: bool) -> None:
    """Count one finished task, its duration bucket and, if it failed for good, an error."""
    try:
        with translate_errors():
            pipe = store.client.pipeline(transaction=False)
            pipe.hincrby(keys.TASK_SECONDS, f"{task}|{stats.bucket_of(seconds)}", 1)
            pipe.hincrbyfloat(keys.TASK_SECONDS, f"{task}|sum", seconds)
            if failed:
                pipe.hincrby(keys.STATS, "errors", 1)
                pipe.hincrby(keys.STATS, f"errors:{task}", 1)
            pipe.execute()
    except TemporaryError:
        logger.warning("could not record task timing: redis unavailable")


def count(store: RedisStore, name: str, amount: int = 1) -> bool:
    """Add ``amount`` to counter ``name`` of ``wh:stats``; return False if Redis refused."""
    try:
        with translate_errors():
            store.client.hincrby(keys.STATS, name, amount)
    except TemporaryError:
        logger.warning("could not count %s: redis unavailable", name)
        return False
    return True


def heartbeat(store: RedisStore, key: str, field: str | None = None) -> None:
    """Write now as a heartbeat: ``key`` itself, or ``field`` of hash ``key``."""
    now = repr(time.time())
    with translate_errors():
        if field is None:
            store.client.set(key, now)
        else:
            store.client.hset(key, field, now)


def workers_alive(
    store: RedisStore, now: float | None = None, key: str = keys.WORKERS
) -> list[str]:
    """Return the nodes of heartbeat hash ``key`` that beat recently; forget long-gone ones.

    ``key`` is ``keys.WORKERS`` (pipeline workers) or ``keys.IO_WORKERS`` (nodes that
    consume the deliveries and exports queues).
    """
    now = now or time.time()
    with translate_errors():
        raw = store.client.hgetall(key)
        gone = [n for n, t in raw.items() if now - float(t) > 20 * WORKER_ALIVE_SECONDS]
        if gone:
            store.client.hdel(key, *gone)
    return sorted(n for n, t in raw.items() if now - float(t) <= WORKER_ALIVE_SECONDS)


def heartbeat_age(store: RedisStore, key: str) -> float | None:
    """Return seconds since heartbeat ``key`` was written (None: never)."""
    with translate_errors():
        raw = store.client.get(key)
    return None if raw is None else max(0.0, round(time.time() - float(raw), 3))


def symbol_ages(store: RedisStore) -> dict[str, float | None]:
    """Return seconds since each watched symbol's last quote (None: never)."""
    entries = watchlist.entries(store)
    times = store.pipeline_reads([("hget", (keys.live(e.symbol), "time")) for e in entries])
    now = time.time()
    return {
        e.symbol: (round(now - float(t), 3) if t is not None else None)
        for e, t in zip(entries, times, strict=True)
    }


def circuit_states(store: RedisStore) -> dict[str, str]:
    """Return the circuit-breaker state (``closed``, ``open``, ``half-open``) of each provider
    the watchlist uses, by provider name, and of its history circuit (``<provider>:history``)."""
    providers = sorted({e.data_provider for e in watchlist.entries(store)})
    names = [name for p in providers for name in (p, history_circuit(p))]
    with translate_errors():
        return {name: breaker_state(store.client, name) for name in names}


def queue_depth(store: RedisStore) -> dict[str, int]:
    """Return messages waiting in the broker's queues and taken but not yet acknowledged."""
    reads = store.pipeline_reads([("llen", (q,)) for q in QUEUES] + [("hlen", ("unacked",))])
    return {"queued": int(sum(reads[:-1])), "unacked": int(reads[-1])}


def task_timings(store: RedisStore) -> dict[str, dict[str, Any]]:
    """Return per task: cumulative bucket counts (``le`` -> n), sum and count of durations."""
    with translate_errors():
        raw = store.client.hgetall(keys.TASK_SECONDS)
    tasks: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        task, _, part = name.rpartition("|")
        entry = tasks.setdefault(task, {"buckets": {}, "sum": 0.0, "count": 0})
        if part == "sum":
            entry["sum"] = float(value)
        else:
            entry["buckets"][part] = int(value)
    for entry in tasks.values():
        entry["buckets"] = stats.cumulative(entry["buckets"])
        entry["count"] = entry["buckets"]["+Inf"]
    return tasks


def sample(store: RedisStore, counters: Mapping[str, int], now: float | None = None) -> None:
    """Keep a snapshot of ``counters`` (at most one a second) for rate computations."""
    now = now or time.time()
    with translate_errors():
        last = store.client.lindex(keys.STATS_SAMPLES, 0)
    if last is not None and now - json.loads(last)["t"] < SAMPLE_EVERY:
        return
    try:
        with translate_errors():
            pipe = store.client.pipeline(transaction=False)
            pipe.lpush(keys.STATS_SAMPLES, json.dumps({"t": now, **counters}))
            pipe.ltrim(keys.STATS_SAMPLES, 0, SAMPLES - 1)
            pipe.execute()
    except TemporaryError as error:  # readers still answer while Redis refuses writes
        logger.warning("counter sample not stored: %s", error)


def rates(
    store: RedisStore, counters: Mapping[str, int], window: float = RATE_WINDOW
) -> dict[str, float | None]:
    """Return bars/s, quotes/s, tasks/s and errors per task over about the last ``window`` s."""
    now = time.time()
    with translate_errors():
        raw = store.client.lrange(keys.STATS_SAMPLES, 0, -1)
    old = [s for s in map(json.loads, raw) if s["t"] >= now - window]
    if not old or now - old[-1]["t"] < 1.0:
        return dict.fromkeys(("bars_per_s", "quotes_per_s", "tasks_per_s", "error_ratio", "errors"))
    base, span = old[-1], now - float(old[-1]["t"])

    def per_second(name: str) -> float:
        return round(float(max(0, counters.get(name, 0) - base.get(name, 0))) / span, 3)

    tasks = max(0, counters.get("tasks_finished", 0) - base.get("tasks_finished", 0))
    errors = max(0, counters.get("errors", 0) - base.get("errors", 0))
    return {
        "bars_per_s": per_second("bars"),
        "quotes_per_s": per_second("quotes"),
        "tasks_per_s": per_second("tasks_finished"),
        "error_ratio": round(errors / tasks, 4) if tasks else (1.0 if errors else 0.0),
        "errors": errors,
    }


def current_counters(store: RedisStore) -> dict[str, int]:
    """Return the workers' counters, finished tasks and queue depth, as one snapshot."""
    counters = stats.counters(store)
    counters["tasks_finished"] = sum(t["count"] for t in task_timings(store).values())
    return counters | queue_depth(store)


def snapshot(store: RedisStore) -> dict[str, Any]:
    """Return every pipeline figure ``/stats`` and ``/metrics`` report (one source for both)."""
    counters = current_counters(store)
    sample(store, counters)
    with translate_errors():
        seq = int(store.client.get(keys.UPDATES_SEQ) or 0)
    ages = symbol_ages(store)
    return {
        "counters": counters,
        "rates": rates(store, counters),
        "latency_ms": stats.latency_percentiles(store),
        "tasks": task_timings(store),
        "queue": {"queued": counters.pop("queued"), "unacked": counters.pop("unacked")},
        "updates_seq": seq,
        "dead_letters": deadletters.total(store),
        "watchlist": len(ages),
        "symbol_age_seconds": ages,
        "warmup": sync.summary(store, sorted(ages)),
        "workers_alive": workers_alive(store),
        "io_workers_alive": workers_alive(store, key=keys.IO_WORKERS),
        "beat_age_seconds": heartbeat_age(store, keys.BEAT_PROCESS),
        "dispatch_age_seconds": heartbeat_age(store, keys.BEAT_HEARTBEAT),
        "redis_memory": redis_memory(store),
    }


def redis_memory(store: RedisStore) -> dict[str, int | None]:
    """Return Redis's ``used_memory`` and ``maxmemory`` in bytes (max None: unlimited)."""
    with translate_errors():
        info = store.client.info("memory")
    limit = int(info.get("maxmemory", 0))
    return {"used_bytes": int(info.get("used_memory", 0)), "max_bytes": limit or None}
