"""Real processes for tests: Celery workers and beat as subprocesses, ended by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import redis as redis_lib

ROOT = Path(__file__).resolve().parent.parent


def env_for(settings_env: Mapping[str, str]) -> dict[str, str]:
    """Return the environment of a child process: ours plus ``settings_env``."""
    env = dict(os.environ)
    env.update(settings_env)
    env.setdefault("PYTHONPATH", str(ROOT))
    return env


class Proc:
    """A child process started by a test; ``stop()`` ends it and its children."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path) -> None:
        self.args = args
        self.log = log
        self.handle = log.open("ab")
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=dict(env),
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the whole process group (the worker and its pool children)."""
        _signal_group(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (warm shutdown), then SIGKILL after ``timeout``."""
        if self.process.poll() is None:
            _signal_group(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.handle.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def celery_worker(
    env: Mapping[str, str], log: Path, concurrency: int = 1, pool: str = "prefork"
) -> Proc:
    """Start ``celery worker`` on the project's app."""
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.app",
        "worker",
        "--loglevel",
        "INFO",
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-Q",
        "celery,warmup",
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"test-{time.monotonic_ns()}@%h",
    ]
    return Proc(args, env, log)


def celery_beat(env: Mapping[str, str], log: Path, workdir: Path) -> Proc:
    """Start ``celery beat`` with its schedule file in ``workdir``."""
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.app",
        "beat",
        "--loglevel",
        "INFO",
        "-s",
        str(workdir / "celerybeat-schedule"),
        "--pidfile",
        "",
    ]
    return Proc(args, env, log)


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
