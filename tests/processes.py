"""Real processes for tests: Celery workers and beat as subprocesses, ended by PID."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import redis as redis_lib

from cli.process_group import ProcessGroup

ROOT = Path(__file__).resolve().parent.parent


def env_for(settings_env: Mapping[str, str]) -> dict[str, str]:
    """Return the environment of a child process: ours plus ``settings_env``."""
    env = dict(os.environ)
    env.update(settings_env)
    env.setdefault("PYTHONPATH", str(ROOT))
    return env


class Proc(ProcessGroup):
    """A child process started by a test, in the project's root; ``stop()`` ends its group."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path) -> None:
        """Start ``args`` with ``env``, output to ``log``."""
        super().__init__(args, env, log, ROOT)


def celery_worker(
    env: Mapping[str, str],
    log: Path,
    concurrency: int = 1,
    pool: str = "prefork",
    queues: str = "celery,warmup,deliveries,exports",
) -> Proc:
    """Start ``celery worker`` on the project's app (by default consuming every queue)."""
    options = [
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-Q",
        queues,
        "--without-gossip",
        "--without-mingle",
    ]
    return _celery("worker", *options, "-n", f"test-{time.monotonic_ns()}@%h", env=env, log=log)


def celery_beat(env: Mapping[str, str], log: Path, workdir: Path) -> Proc:
    """Start ``celery beat`` with its schedule file in ``workdir``."""
    return _celery(
        "beat", "-s", str(workdir / "celerybeat-schedule"), "--pidfile", "", env=env, log=log
    )


def _celery(command: str, *options: str, env: Mapping[str, str], log: Path) -> Proc:
    args = [sys.executable, "-m", "celery", "-A", "workers.app", command, "--loglevel", "INFO"]
    return Proc([*args, *options], env, log)


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``check`` until it is true or fail the test naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_worker_ready(client: redis_lib.Redis, proc: Proc, timeout: float = 30.0) -> None:
    """Wait until the worker's log says it is ready."""
    wait_for(lambda: "ready." in proc.output(), timeout, f"worker {proc.pid} to be ready")
