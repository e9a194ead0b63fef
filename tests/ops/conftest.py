"""Fixtures for operations tests: a whole system started from the Procfile, once per package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ops.system import System

SYMBOLS = [f"S{i:03d}" for i in range(100)]
PROVIDER_SECRET = "alpaca-secret-never-logged"


@pytest.fixture(scope="package")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """Redis, gunicorn, a worker and beat (the Procfile's lines) watching 100 mock symbols."""
    root = tmp_path_factory.mktemp("ops")
    started = System(
        root,
        SYMBOLS,
        REDIS_STREAMS_MAXLEN="200000",
        RATE_LIMIT_PUBLIC="100000/minute",  # the load tests poll /metrics from one address
        ALPACA_API_KEY="alpaca-key-id",
        ALPACA_API_SECRET=PROVIDER_SECRET,
        WS_MAX_PER_KEY="64",  # test_load opens 50 sockets with one key from one address
        WS_MAX_PER_ADDRESS="64",
    )
    try:
        started.start()
        started.wait_fresh(90)
        yield started
    finally:
        started.stop()
