"""Fixtures for alert tests: the API fixtures, and settings that allow a loopback receiver."""

from __future__ import annotations

import pytest

from tests.api.conftest import app, client, keys, live_server, store  # noqa: F401 - fixtures
from tests.workers.conftest import producer, start_worker  # noqa: F401 - fixtures
from wagehood.settings import Settings

RECEIVER_ENV = {
    "WEBHOOK_ALLOW_PRIVATE": "true",  # pytest-httpserver listens on loopback
    "WEBHOOK_RETRY_BACKOFF": "0.2",
    "WEBHOOK_TIMEOUT": "5",
    "WEBHOOK_MAX_ATTEMPTS": "3",
}


@pytest.fixture
def loopback_settings(settings: Settings) -> Settings:
    """Settings whose operator allowed private webhook targets (the test receiver)."""
    return settings.replace(
        webhook_allow_private=True, webhook_retry_backoff=0.2, webhook_max_attempts=3
    )
