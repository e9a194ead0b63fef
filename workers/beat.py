"""Beat's scheduler: Celery's persistent one, counting the ticks it could not dispatch.

When Redis refuses the dispatch (out of memory), drops the connection or is paused, beat
keeps scheduling but no tick goes out; the gap between two dispatches sent is what was
missed (``stats.missed_ticks``). The count goes to ``ticks_missed`` in ``wh:stats`` (``/stats``
and ``/metrics``), and is kept in beat until Redis takes it. Ticks that were sent but expired
in the queue unhandled are counted by the worker (``workers.task_metrics``).
"""

from __future__ import annotations

import time
from typing import Any

from celery.beat import PersistentScheduler

from wagehood.service import monitoring, stats
from workers.runtime import settings, store
from workers.schedule import DISPATCH_TASK


class Scheduler(PersistentScheduler):  # type: ignore[misc]
    """``PersistentScheduler`` that counts the dispatch ticks it could not send."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Start with no dispatch sent yet (a restart does not count its downtime)."""
        super().__init__(*args, **kwargs)
        self.last_dispatch: float | None = None
        self.uncounted = 0

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kw: Any) -> Any:
        """Send ``entry`` (raising if it could not); after a dispatch, count the ticks missed."""
        result = super().apply_async(entry, producer, advance, **kw)
        if entry.task == DISPATCH_TASK:
            self._dispatched(time.time())
        return result

    def _dispatched(self, now: float) -> None:
        if self.last_dispatch is not None:
            interval = settings().data_update_interval
            self.uncounted += stats.missed_ticks(self.last_dispatch, now, interval)
        self.last_dispatch = now
        if self.uncounted and monitoring.count(store(), stats.TICKS_MISSED, self.uncounted):
            self.uncounted = 0
