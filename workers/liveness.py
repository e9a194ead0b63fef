"""A liveness file a worker touches while it makes progress, for ``wagehood-supervise``.

A Celery worker can stop consuming without exiting: after "Unrecoverable error:
OutOfMemoryError" its consumer stops while a zombie pool child keeps the process alive, and a
stopped (or hung) pool child holds its task forever. A supervisor that restarts on exit never
sees either. This worker bootstep touches ``WORKER_LIVENESS_FILE`` every second from the
worker's own event loop (its timer), but only while the worker is idle or has finished a
task since the last check. So the file goes stale when the event loop stops, and when work
is waiting but none completes; ``workers/supervise.py`` restarts the worker when it does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import bootsteps
from celery.worker import state

from wagehood.settings import Settings

logger = logging.getLogger(__name__)

TOUCH_EVERY = 1.0


class WorkerLiveness(bootsteps.StartStopStep):  # type: ignore[misc]
    """Touch the liveness file while the worker is idle or completing tasks."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        """Read the file's path from the settings (empty: no liveness file)."""
        super().__init__(worker, **kwargs)
        path = Settings.from_env().worker_liveness_file
        self.path = Path(path) if path else None
        self.waiting: set[str] = set()
        self.timer_entry: Any = None

    def start(self, worker: Any) -> None:
        """Touch the file every second from the worker's timer."""
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.timer_entry = worker.timer.call_repeatedly(TOUCH_EVERY, self.check, priority=10)

    def stop(self, worker: Any) -> None:
        """Stop touching the file (it then goes stale, as the worker is stopping)."""
        if self.timer_entry is not None:
            self.timer_entry.cancel()

    def check(self) -> None:
        """Touch the file if no task is waiting or one has finished since the last check."""
        waiting = {request.id for request in list(state.reserved_requests)}
        progress = not waiting or bool(self.waiting - waiting)
        self.waiting = waiting
        if progress and self.path is not None:
            self.path.touch()
