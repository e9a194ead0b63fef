"""Health in the service layer: the Redis memory component, its alerts and the shared report."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib

from api import create_app
from wagehood.service import health, health_alerts
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore


@pytest.fixture
def maxmemory(redis: redis_lib.Redis) -> Iterator[redis_lib.Redis]:
    """The test Redis with 4 MB of ballast, its ``maxmemory`` restored to unlimited afterwards."""
    redis.set("ballast", "x" * 4_000_000)  # so an evaluation's own writes barely move the ratio
    yield redis
    redis.config_set("maxmemory", "0")


def _used(client: redis_lib.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def test_memory_levels_warn_at_80_and_are_critical_at_95_percent() -> None:
    levels = [health.memory_level(r) for r in (None, 0.5, 0.79, 0.8, 0.94, 0.95, 1.2)]
    assert levels == ["ok", "ok", "ok", "warning", "warning", "critical", "critical"]


def test_memory_component_reports_used_and_max_and_alerts_at_warning(
    settings: Settings, maxmemory: redis_lib.Redis
) -> None:
    store = RedisStore.from_url(settings.redis_url)
    maxmemory.config_set("maxmemory", str(int(_used(maxmemory) / 0.87)))
    found = health.memory_check(store)
    assert found["level"] == "warning"
    assert found["status"] == "degraded"
    assert 0.8 <= found["ratio"] < 0.95
    assert found["max_bytes"] > found["used_bytes"] > 0
    raised = {a["id"]: a for a in health_alerts.evaluate(store, settings)}
    assert raised["redis_memory"]["severity"] == "warning"
    assert raised["redis_memory"]["message"].startswith("Redis memory at ")


def test_redis_refusing_writes_is_the_named_cause_not_beat_or_workers(
    settings: Settings, maxmemory: redis_lib.Redis
) -> None:
    store = RedisStore.from_url(settings.redis_url)
    maxmemory.config_set("maxmemory", str(_used(maxmemory) // 2))
    report = health.report(store, settings, lambda: {"status": "ok"})
    assert report["cause"] == "Redis refuses writes: out of memory"
    assert report["components"]["beat"]["blocked_by"] == report["cause"]
    found = health_alerts.evaluate(store, settings)
    assert sorted(a["id"] for a in found) == ["redis_memory", "redis_writes"]
    assert all(a["stored"] is False for a in found)


def test_shared_result_computes_once_for_concurrent_callers() -> None:
    calls: list[float] = []

    def compute() -> dict[str, Any]:
        calls.append(time.monotonic())
        time.sleep(0.3)
        return {"status": "ok"}

    shared = health.SharedResult(compute, lambda: {"status": "down"}, ttl=5.0, wait=5.0)
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(shared.get())) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(calls) == 1
    assert results == [{"status": "ok"}] * 20


def test_shared_result_callers_wait_at_most_wait_when_the_check_hangs() -> None:
    release = threading.Event()

    def compute() -> dict[str, Any]:
        release.wait(10)
        return {"status": "ok"}

    shared = health.SharedResult(compute, lambda: {"status": "down"}, ttl=1.0, wait=0.2)
    first = threading.Thread(target=shared.get)
    first.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert shared.get() == {"status": "down", "stale": True}
    assert time.monotonic() - started < 2
    release.set()
    first.join(10)


def test_metrics_expose_redis_memory_used_and_max_bytes(
    settings: Settings, maxmemory: redis_lib.Redis
) -> None:
    maxmemory.config_set("maxmemory", "512mb")
    text = create_app(settings).test_client().get("/metrics").get_data(as_text=True)
    values = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("wagehood_redis_memory_")
    }
    assert values["wagehood_redis_memory_max_bytes"] == 512 * 2**20
    assert 4_000_000 < values["wagehood_redis_memory_used_bytes"] < 512 * 2**20
