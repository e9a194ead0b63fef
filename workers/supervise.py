"""``wagehood-supervise -- COMMAND...``: keep a process running, restart it when it dies.

honcho (``make run``) does not restart processes, and a Celery worker can exit for good
when Redis goes away with messages in flight (a known kombu failure: "Unrecoverable error:
'NoneType' object has no attribute 'hostname'"). The Procfile's worker line runs under this
supervisor so the system recovers without manual action: an unexpected exit is restarted
after a backoff (1 s doubling to 30 s, reset after a minute of uptime); SIGTERM or SIGINT
are passed to the child once and end the supervisor when the child has exited.

A worker can also stop consuming without exiting (after Redis ran out of memory, or with a
hung pool child). The supervisor gives the child a liveness file (``WORKER_LIVENESS_FILE``,
touched by ``workers/liveness.py`` while the worker makes progress) and SIGKILLs the child and
its pool processes when the file is older than ``WORKER_STALE_SECONDS``; the restart follows.
Nothing committed is lost: tasks acknowledge late and are redelivered. ``wagehood-supervise
--check`` exits 1 when the file is stale (the compose file's worker healthcheck).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from types import FrameType

from wagehood.settings import Settings

logger = logging.getLogger("wagehood.supervise")

MAX_BACKOFF = 30.0
STABLE_SECONDS = 60.0


class Supervisor:
    """Run ``command`` until asked to stop, restarting it when it exits unexpectedly."""

    def __init__(self, command: list[str], watchdog: Watchdog | None = None) -> None:
        self.command = command
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.watchdog = watchdog

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        """Stop: pass the signal to the child once and stop restarting it."""
        if not self.stopping and self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)
        self.stopping = True

    def run(self) -> int:
        """Supervise until stopped; return 0 after a requested stop."""
        backoff, code = 1.0, 0
        while not self.stopping:
            started = time.monotonic()
            self.child = self._start()
            code = self._wait()
            if self.stopping:
                return 0  # a requested stop is a clean exit, whatever signal ended the child
            backoff = 1.0 if time.monotonic() - started > STABLE_SECONDS else backoff
            logger.error("%s exited with %s; restarting in %.0f s", self.command[0], code, backoff)
            self._sleep(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)
        return code

    def _start(self) -> subprocess.Popen[bytes]:
        if self.watchdog is None:
            return subprocess.Popen(self.command)  # noqa: S603 - the Procfile's own command
        self.watchdog.reset()
        env = {**os.environ, "WORKER_LIVENESS_FILE": str(self.watchdog.path)}
        return subprocess.Popen(self.command, env=env)  # noqa: S603 - the Procfile's own command

    def _wait(self) -> int:
        """Wait for the child to exit; kill it (and so restart it) when its liveness is stale."""
        assert self.child is not None
        while True:
            with suppress(subprocess.TimeoutExpired):
                return self.child.wait(timeout=1.0)
            if self.watchdog is not None and not self.stopping and self.watchdog.stale():
                logger.error(
                    "%s made no progress for %.0f s (liveness file %s); killing it",
                    self.command[0],
                    self.watchdog.age(),
                    self.watchdog.path,
                )
                kill_tree(self.child.pid)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)


class Watchdog:
    """The supervised worker's liveness file and how old it may get."""

    def __init__(self, path: Path, stale_after: float) -> None:
        """Watch ``path``; stale when untouched for ``stale_after`` seconds."""
        self.path, self.stale_after = path, stale_after
        self.since = time.time()

    @classmethod
    def from_settings(cls, settings: Settings) -> Watchdog:
        """Use ``WORKER_LIVENESS_FILE``, or a file of this supervisor's in the data directory."""
        path = settings.worker_liveness_file or f"{settings.data_dir}/worker-{os.getpid()}.alive"
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return cls(Path(path), settings.worker_stale_seconds)

    def reset(self) -> None:
        """Forget the last child's touches: a new child gets ``stale_after`` to start."""
        self.path.unlink(missing_ok=True)
        self.since = time.time()

    def age(self) -> float:
        """Return seconds since the last touch (or since the child started)."""
        try:
            touched = self.path.stat().st_mtime
        except FileNotFoundError:
            touched = 0.0
        return time.time() - max(touched, self.since)

    def stale(self) -> bool:
        """Return whether the child made no progress for longer than allowed."""
        return self.age() > self.stale_after


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and its descendants (a stopped or hung pool child included)."""
    for target in [pid, *_descendants(pid)]:
        with suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return children + [d for c in children for d in _descendants(c)]


def check(settings: Settings) -> int:
    """Return 0 when every worker liveness file is fresh, else 1 (a container healthcheck)."""
    named = settings.worker_liveness_file
    paths = [Path(named)] if named else sorted(Path(settings.data_dir).glob("worker-*.alive"))
    ages = {p: time.time() - p.stat().st_mtime for p in paths if p.exists()}
    stale = [p for p in paths if ages.get(p, float("inf")) > settings.worker_stale_seconds]
    for path in stale:
        print(f"stale: {path}", file=sys.stderr)
    return 1 if stale or not paths else 0


def main() -> None:
    """Console-script entry point: ``wagehood-supervise -- celery -A workers.app worker``."""
    args = sys.argv[1:]
    if args == ["--check"]:
        sys.exit(check(Settings.from_env()))
    command = args[1:] if args[:1] == ["--"] else args
    if not command:
        sys.exit("usage: wagehood-supervise -- COMMAND [ARGS...] | wagehood-supervise --check")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervise: %(message)s")
    supervisor = Supervisor(command, Watchdog.from_settings(Settings.from_env()))
    signal.signal(signal.SIGTERM, supervisor.on_signal)
    signal.signal(signal.SIGINT, supervisor.on_signal)
    sys.exit(supervisor.run())


if __name__ == "__main__":
    main()
