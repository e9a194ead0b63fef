"""Logging in Celery processes: ``wagehood.logs`` instead of Celery's own set-up.

Workers and beat alike log JSON lines with ``LOG_FORMAT=json`` (secrets redacted). At the
default level a process logs its lifecycle, warnings, errors and the once-a-minute summary
(``workers.monitoring``); a line per task is DEBUG.
"""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging

from wagehood import logs
from workers.runtime import settings


def _setup_logging(**_: Any) -> None:
    current = settings()
    logs.configure(
        current.log_level,
        current.log_format,
        secrets=(current.alpaca_api_secret, current.jwt_secret),
    )


def connect() -> None:
    """Connect the handler to Celery's ``setup_logging`` signal."""
    setup_logging.connect(_setup_logging, weak=False)
