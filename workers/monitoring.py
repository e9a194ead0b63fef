"""Periodic monitoring tasks beat schedules: health alerts, and the once-a-minute summary."""

from __future__ import annotations

import logging

from wagehood.service import health_alerts, summary
from workers.app import app, settings, store

logger = logging.getLogger(__name__)


@app.task(name="wagehood.evaluate_alerts", ignore_result=True)  # type: ignore[untyped-decorator]
def evaluate_alerts() -> int:
    """Raise and clear health alerts; return how many are active."""
    return len(health_alerts.evaluate(store(), settings()))


@app.task(name="wagehood.log_summary", ignore_result=True)  # type: ignore[untyped-decorator]
def log_summary() -> None:
    """Log one line: symbols, ticks/s, bars and signals of the last minute, p99 latency."""
    figures = summary.last_minute(store())
    logger.info(summary.describe(figures), extra=figures)
