"""``wagehood-supervise -- COMMAND...``: keep a process running, restart it when it dies.

honcho (``make run``) does not restart processes, and a Celery worker can exit for good
when Redis goes away with messages in flight (a known kombu failure: "Unrecoverable error:
'NoneType' object has no attribute 'hostname'"). The Procfile's worker line runs under this
supervisor so the system recovers without manual action: an unexpected exit is restarted
after a backoff (1 s doubling to 30 s, reset after a minute of uptime); SIGTERM or SIGINT
are passed to the child once and end the supervisor when the child has exited.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from types import FrameType

logger = logging.getLogger("wagehood.supervise")

MAX_BACKOFF = 30.0
STABLE_SECONDS = 60.0


class Supervisor:
    """Run ``command`` until asked to stop, restarting it when it exits unexpectedly."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False

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
            self.child = subprocess.Popen(self.command)  # noqa: S603 - the Procfile's own command
            code = self.child.wait()
            if self.stopping:
                return 0  # a requested stop is a clean exit, whatever signal ended the child
            backoff = 1.0 if time.monotonic() - started > STABLE_SECONDS else backoff
            logger.error("%s exited with %s; restarting in %.0f s", self.command[0], code, backoff)
            self._sleep(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)
        return code

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)


def main() -> None:
    """Console-script entry point: ``wagehood-supervise -- celery -A workers.app worker``."""
    args = sys.argv[1:]
    command = args[1:] if args[:1] == ["--"] else args
    if not command:
        sys.exit("usage: wagehood-supervise -- COMMAND [ARGS...]")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervise: %(message)s")
    supervisor = Supervisor(command)
    signal.signal(signal.SIGTERM, supervisor.on_signal)
    signal.signal(signal.SIGINT, supervisor.on_signal)
    sys.exit(supervisor.run())


if __name__ == "__main__":
    main()
