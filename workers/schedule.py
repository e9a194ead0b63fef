"""Beat's schedule: one dispatch per ``DATA_UPDATE_INTERVAL`` that fans out per-symbol fetches.

Beat itself holds no symbol list: ``wagehood.dispatch_ticks`` reads the watchlist from Redis on
every tick, so symbols added or removed through the API or CLI take effect on the next tick
without restarting beat or workers. The dispatch message expires after one interval, and the
fetches it creates after two, so a backlog is dropped rather than queued forever.
"""

from __future__ import annotations

from typing import Any

from wagehood.settings import Settings

DISPATCH_TASK = "wagehood.dispatch_ticks"
ALERTS_TASK = "wagehood.evaluate_alerts"
ALERTS_EVERY = 5.0
OUTBOX_TASK = "wagehood.drain_outbox"
OUTBOX_EVERY = 30.0  # a safety net: evaluation drains the outbox itself after each commit
SUMMARY_TASK = "wagehood.log_summary"
SUMMARY_EVERY = 60.0  # the one periodic INFO line of a quiet log


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Return Celery's ``beat_schedule`` for ``settings``."""
    interval = settings.data_update_interval
    return {
        "dispatch-ticks": {
            "task": DISPATCH_TASK,
            "schedule": interval,
            "options": {"expires": max(interval, 1.0)},
        },
        "evaluate-alerts": {
            "task": ALERTS_TASK,
            "schedule": ALERTS_EVERY,
            "options": {"expires": ALERTS_EVERY},
        },
        "log-summary": {
            "task": SUMMARY_TASK,
            "schedule": SUMMARY_EVERY,
            "options": {"expires": SUMMARY_EVERY},
        },
        "drain-outbox": {
            "task": OUTBOX_TASK,
            "schedule": OUTBOX_EVERY,
            "options": {"expires": OUTBOX_EVERY},
        },
    }
