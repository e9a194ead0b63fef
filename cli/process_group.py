"""A command run as a process group of its own, logging to a file, stopped by its PID's group.

The one launcher of the test fixtures (``tests/processes.py``) and the benchmarks
(``bench/cluster.py``); ``cli/procs.py`` uses ``signal_group`` for its detached processes.
Nothing is looked up or killed by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to process group ``pgid``; a group already gone is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class ProcessGroup:
    """``args`` started in a new session (its PID is its group id), output appended to ``log``."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path, cwd: Path) -> None:
        """Start the process."""
        self.args = args
        self.log = log
        self.handle = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - the caller's own command
            args,
            cwd=cwd,
            env=dict(env),
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """Return the leader's PID (also the process group id)."""
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the whole group (the leader and, e.g., a worker's pool children)."""
        signal_group(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the group (a warm shutdown), SIGKILL it after ``timeout``; close the log."""
        if self.process.poll() is None:
            signal_group(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        signal_group(self.pid, signal.SIGKILL)  # children left behind by the leader
        self.handle.close()

    def output(self) -> str:
        """Return the log so far."""
        return self.log.read_text(errors="replace")
