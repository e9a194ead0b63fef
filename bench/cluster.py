"""A throwaway Wagehood deployment on loopback: our own redis-server plus Procfile processes.

Every process is started in its own session from the Procfile's line (``celery`` and
``gunicorn`` run as ``python -m ...`` of this interpreter) and stopped by its PID's process
group; nothing is looked up or killed by name.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import redis

from cli.process_group import ProcessGroup
from cli.procs import procfile_commands
from cli.redis_server import LocalRedis, free_port

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def procfile_line(role: str) -> str:
    """Return the Procfile command of ``role`` with this interpreter's celery/gunicorn."""
    command = procfile_commands()[role]
    for tool in ("celery", "gunicorn"):
        if command.startswith(tool + " "):
            command = f"{shlex.quote(sys.executable)} -m {command}"
    return command


class Proc(ProcessGroup):
    """A Procfile-style command line run as a process group of its own."""

    def __init__(self, command: str, env: Mapping[str, str], log: Path) -> None:
        """Start ``command`` under ``sh -c exec``, output to ``log``."""
        super().__init__(["/bin/sh", "-c", "exec " + command], env, log, ROOT)
        self.command = command

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the group (warm shutdown), SIGKILL it after ``timeout``."""
        super().stop(timeout)

    def tree(self) -> list[int]:
        """Return the leader and its descendants' PIDs."""
        return process_tree(self.pid)


def process_tree(root: int) -> list[int]:
    """Return ``root`` and every descendant, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def cpu_seconds(pids: list[int]) -> float:
    """Return user + system CPU seconds used so far by ``pids``."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def rss_bytes(pids: list[int]) -> int:
    """Return the summed resident set size of ``pids``."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
    return total


class Cluster:
    """Our own redis-server on a free port and the processes started against it."""

    def __init__(self, env: Mapping[str, str] | None = None, appendonly: bool = True) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="wagehood-bench-"))
        self.redis_server = LocalRedis(self.tmp / "redis", free_port())
        self.redis_server.start(appendonly=appendonly)
        self.url = self.redis_server.url
        self.api_port = free_port()
        self.env = dict(os.environ)
        self.env.update(
            {
                "PYTHONPATH": str(ROOT),
                "REDIS_URL": self.url,
                "WAGEHOOD_DATA_DIR": str(self.tmp / "data"),
                "DATA_UPDATE_INTERVAL": "1",
                "LOG_LEVEL": "warning",
                "API_HOST": "127.0.0.1",
                "API_PORT": str(self.api_port),
                "WATCHLIST_SYMBOLS": "SPY",
            }
        )
        self.env.update(env or {})
        (self.tmp / "data").mkdir()
        self.procs: list[Proc] = []
        self.client = redis.Redis.from_url(self.url, decode_responses=True)

    def start(self, role: str, command: str | None = None, **env: str) -> Proc:
        """Start the Procfile's ``role`` line (or ``command``) with extra ``env``."""
        log = self.tmp / f"{role}-{len(self.procs)}.log"
        proc = Proc(command or procfile_line(role), {**self.env, **env}, log)
        self.procs.append(proc)
        return proc

    def wait_workers(self, count: int, timeout: float = 60.0) -> None:
        """Wait until ``count`` worker nodes answer a broadcast ping on our broker."""
        from celery import Celery  # noqa: PLC0415 - only the process benches need it

        app = Celery("bench-ping", broker=self.url)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if len(app.control.ping(timeout=0.5)) >= count:
                    return
                for proc in self.procs:
                    if proc.process.poll() is not None:
                        raise RuntimeError(f"{proc.command} exited: {proc.output()[-2000:]}")
        finally:
            app.close()
        raise RuntimeError(f"{count} worker(s) not ready after {timeout}s")

    def stop_all(self) -> None:
        """Stop every process we started, newest first."""
        while self.procs:
            self.procs.pop().stop()

    def close(self) -> None:
        """Stop processes and the redis-server."""
        self.stop_all()
        self.client.close()
        self.redis_server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@contextlib.contextmanager
def cluster(env: Mapping[str, str] | None = None) -> Iterator[Cluster]:
    """Yield a fresh ``Cluster`` and tear it down afterwards."""
    c = Cluster(env)
    try:
        yield c
    finally:
        c.close()
