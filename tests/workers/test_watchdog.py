"""A worker that stops consuming without exiting is found by its stale liveness file and
restarted by ``wagehood-supervise`` (issue 17: a wedged worker must not need an operator)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from celery import Celery

from tests.factories import START, send_tick
from tests.processes import Proc, env_for, wait_for
from wagehood.storage import keys

BIN = Path(sys.executable).parent


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_worker_with_a_stopped_pool_child_is_killed_and_restarted(
    process_env: dict[str, str], tmp_path: Path, producer: Celery, redis
) -> None:
    env = {**process_env, "WORKER_STALE_SECONDS": "6", "BROKER_VISIBILITY_TIMEOUT": "15"}
    command = [str(BIN / "wagehood-supervise"), "--", sys.executable, "-m", "celery"]
    command += ["-A", "workers.app", "worker", "-c", "1", "--without-gossip", "--without-mingle"]
    supervisor = Proc([*command, "-n", "wedged@%h"], env_for(env), tmp_path / "worker.log")
    try:
        wait_for(lambda: "ready." in supervisor.output(), 60, "the worker to be ready")
        worker = _children(supervisor.pid)[0]
        wait_for(lambda: len(_children(worker)) == 1, 20, "the pool child")
        pool_child = _children(worker)[0]
        os.kill(pool_child, signal.SIGSTOP)  # wedged: alive, holding its work, doing nothing
        send_tick(producer, ["AAPL"], float(START))
        wait_for(lambda: "made no progress" in supervisor.output(), 60, "the watchdog")
        wait_for(lambda: not _running(pool_child), 20, "the stopped child to be killed")
        wait_for(
            lambda: _children(supervisor.pid) not in ([], [worker]), 30, "a new worker process"
        )
        wait_for(
            lambda: redis.hget(keys.live("AAPL"), "time") is not None,
            90,
            "the wedged tick to be redelivered and done",
        )
    finally:
        supervisor.stop()
