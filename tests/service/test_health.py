"""Health in the service layer: Redis memory, the io workers, their alerts and the shared report."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from api import create_app
from tests.processes import celery_worker, wait_for
from wagehood.service import health, health_alerts
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore

HEALTH = "/api/v1/realtime/monitor/health"


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


def _health(client: FlaskClient) -> dict[str, Any]:
    body: dict[str, Any] = client.get(HEALTH).get_json()
    return body


def _metric(client: FlaskClient, name: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    return next(float(line.split()[1]) for line in text.splitlines() if line.split()[0] == name)


def test_io_component_follows_the_io_worker_and_names_it_when_it_is_killed(
    settings: Settings, process_env: dict[str, str], redis: redis_lib.Redis, tmp_path: Path
) -> None:
    # The Procfile's two worker kinds: the pipeline's (celery, warmup) and io (deliveries,
    # exports, a thread pool). A live pipeline worker must not count as an io worker.
    pipeline = celery_worker(process_env, tmp_path / "worker.log", queues="celery,warmup")
    io = celery_worker(
        process_env, tmp_path / "io.log", concurrency=2, pool="threads", queues="deliveries,exports"
    )
    store = RedisStore.from_url(settings.redis_url)
    client = create_app(settings).test_client()
    try:
        wait_for(lambda: redis.hlen(keys.IO_WORKERS) == 1, 60, "the io worker's heartbeat")
        wait_for(lambda: redis.hlen(keys.WORKERS) == 1, 60, "the pipeline worker's heartbeat")
        wait_for(lambda: _health(client)["components"]["io"]["status"] == "ok", 10, "io ok")
        assert _health(client)["components"]["io"]["alive"] == 1
        assert _metric(client, "wagehood_io_workers_alive") == 1
        assert "io" not in {a["id"] for a in health_alerts.evaluate(store, settings)}

        io.kill()  # SIGKILL: no shutdown handler removes its heartbeat, it goes stale
        wait_for(
            lambda: _health(client)["components"]["io"]["status"] == "degraded",
            60,
            "the io component to degrade",
            interval=0.5,
        )
        found = _health(client)
        assert found["status"] == "degraded"
        assert found["components"]["workers"]["status"] == "ok"
        assert "deliveries" in found["components"]["io"]["message"]
        assert _metric(client, "wagehood_io_workers_alive") == 0
        raised = {a["id"]: a for a in health_alerts.evaluate(store, settings)}
        assert raised["io"]["severity"] == "critical"
        assert "deliveries" in raised["io"]["message"]
    finally:
        io.stop()
        pipeline.stop()
