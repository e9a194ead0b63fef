"""Redis faults against the real processes (issue 17): out of memory, every client killed,
every client paused. During each, health and alerts name Redis as the cause (never beat or
the workers); within 60 s of the condition clearing, health is ok, every symbol is fresh and
the queue drains, without any manual action; at the end the state equals a replay.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import redis as redis_lib
from celery import Celery

from tests.ops.system import System
from tests.processes import wait_for
from tests.workers.test_chaos import assert_state_equals_replay
from wagehood.service import sync
from wagehood.storage import keys
from wagehood.types import Timeframe
from workers.schedule import ALERTS_TASK

MOCK = ["R001", "R002", "R003"]
RECOVERY = 60.0
OOM_SECONDS = 30.0
BACKLOG = 300
QUEUE_DRAINED = 20  # messages: beat keeps adding ticks, so "drained" means back to a trickle


def _admin(system: System) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(system.redis.url, decode_responses=True, socket_timeout=30)


def _queued(system: System) -> int:
    return int(_admin(system).llen("celery")) + int(_admin(system).llen("warmup"))


def _synced(system: System) -> bool:
    # The gap fills the outage queued (issue 15) are done: no symbol waits for history.
    found = sync.statuses(system.store, MOCK)
    busy = system.store.client.zcard(keys.SYNC_PENDING) + system.store.client.zcard(
        keys.SYNC_ACTIVE
    )
    return not busy and all(item.warm for item in found.values())


def _recovered(system: System, cleared_at: float, what: str) -> None:
    deadline = RECOVERY - (time.monotonic() - cleared_at)
    wait_for(lambda: system.health()["status"] == "ok", deadline, f"health ok after {what}", 1)
    system.wait_fresh(max(5.0, RECOVERY - (time.monotonic() - cleared_at)))
    left = max(5.0, RECOVERY - (time.monotonic() - cleared_at))
    wait_for(lambda: _queued(system) <= QUEUE_DRAINED, left, f"the queue to drain after {what}")
    print(f"{what}: recovered {time.monotonic() - cleared_at:.1f} s after it cleared")


def _backlog(system: System, messages: int) -> None:
    producer = Celery("fault-producer", broker=system.redis.url)
    producer.conf.update(task_serializer="json", accept_content=["json"])
    with producer.producer_or_acquire() as publisher:
        for _ in range(messages):
            producer.send_task(ALERTS_TASK, producer=publisher, ignore_result=True)
    producer.close()


def _ticks_missed(system: System) -> int:
    # /stats and /metrics show the same counter (read around it: the workers may add to it).
    def counted() -> int:
        counters = system.get("/realtime/monitor/stats").json()["counters"]
        return int(counters.get("ticks_missed", 0))

    first = counted()
    text = httpx.get(f"{system.url}/metrics", timeout=10).text
    metric = re.search(r"^wagehood_ticks_missed_total (\S+)$", text, re.MULTILINE)
    last = counted()
    assert metric, "wagehood_ticks_missed_total"
    assert first <= float(metric.group(1)) <= last
    return last


def _assert_ticks_missed(system: System, before: int, started: float, at_least: float) -> None:
    # Every tick of the episode is counted once it is over, and no more ticks than elapsed.
    missed = _ticks_missed(system) - before
    elapsed = (time.monotonic() - started) / system.settings.data_update_interval
    print(f"ticks missed: {missed} of {elapsed:.0f}")
    assert at_least <= missed <= elapsed + 2, (missed, at_least, elapsed)


def _out_of_memory(system: System) -> None:
    admin = _admin(system)
    _backlog(system, BACKLOG)  # the worker is busy consuming when the writes start failing
    used = int(admin.info("memory")["used_memory"])
    missed_before = _ticks_missed(system)
    started = time.monotonic()
    # A quarter of what is used: still refused when the worker has drained the backlog.
    admin.config_set("maxmemory", str(used // 4))
    try:
        cause = "Redis refuses writes: out of memory"

        def named() -> bool:
            health = system.health()
            memory = health.get("components", {}).get("memory", {})
            return health.get("cause") == cause and memory.get("level") == "critical"

        wait_for(named, 20, "health to name memory", 1)
        alerts = {a["id"]: a for a in system.get("/realtime/monitor/alerts").json()["alerts"]}
        assert alerts["redis_writes"]["message"] == cause
        assert "redis_memory" in alerts
        assert not {"beat", "dispatch", "workers"} & set(alerts), alerts
        time.sleep(max(0.0, OOM_SECONDS - (time.monotonic() - started)))
    finally:
        admin.config_set("maxmemory", "0")
    _recovered(system, time.monotonic(), "out of memory")
    _assert_ticks_missed(system, missed_before, started, OOM_SECONDS / 2)


def _clients_killed(system: System) -> None:
    killed = _admin(system).client_kill_filter(_type="normal", skipme=True)
    assert killed >= 3
    _recovered(system, time.monotonic(), "CLIENT KILL TYPE normal")


def _clients_paused(system: System) -> None:
    admin = _admin(system)
    missed_before = _ticks_missed(system)
    admin.execute_command("CLIENT", "PAUSE", "20000")
    paused_at = time.monotonic()
    answered = time.monotonic()
    assert system.health()["status"] in ("ok", "degraded", "down")  # answers, never hangs
    assert time.monotonic() - answered < 10
    admin.ping()  # returns once the pause is over
    assert time.monotonic() - paused_at >= 15
    _recovered(system, time.monotonic(), "CLIENT PAUSE 20000")
    _assert_ticks_missed(system, missed_before, paused_at, 10)


def test_redis_faults_name_redis_and_every_process_recovers_by_itself(tmp_path: Path) -> None:
    system = System(tmp_path, MOCK, RATE_LIMIT_PUBLIC="100000/minute")
    try:
        system.start()
        system.wait_fresh(60)
        wait_for(lambda: system.health()["status"] == "ok", 30, "health ok", 1)
        _out_of_memory(system)
        _clients_killed(system)
        _clients_paused(system)
        wait_for(lambda: _synced(system), 120, "the outage's gap fills", 1)
        system.procs["beat"].stop()
        wait_for(lambda: _queued(system) == 0, 60, "the queue to drain")
        for symbol in MOCK:
            assert_state_equals_replay(system.store, system.settings, symbol, Timeframe.M1)
    finally:
        system.stop()
