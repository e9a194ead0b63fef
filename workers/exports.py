"""The export task: build an export's file from the read models and store it (thin)."""

from __future__ import annotations

from typing import Any

from wagehood.errors import TemporaryError
from wagehood.service import exports
from workers.app import app, store


@app.task(
    name="wagehood.run_export",
    autoretry_for=(TemporaryError,),
    retry_backoff=1,
    retry_backoff_max=30,
    max_retries=5,
)
def run_export(export_id: str) -> dict[str, Any]:
    """Build export ``export_id`` and return its final status."""
    return exports.run(store(), export_id)
