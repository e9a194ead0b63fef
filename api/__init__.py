"""The REST + WebSocket API: ``create_app(settings)`` builds it.

``create_app`` is imported on first use, not with the package: gunicorn imports
``api.gunicorn_conf`` (and so this package) in its master before the app, and the config sets
``PROMETHEUS_MULTIPROC_DIR`` there. prometheus-client picks in-process or shared-file values
when it is first imported, so importing the app (which imports it) here would leave every
web process counting on its own, and ``/metrics`` would show whichever process answered.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """Import ``create_app`` when it is first asked for."""
    if name == "create_app":
        from api.app import create_app  # noqa: PLC0415 - see the module docstring

        return create_app
    raise AttributeError(f"module 'api' has no attribute {name!r}")
