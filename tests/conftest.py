"""Layered fixtures: settings -> redis_server (a real redis-server) -> redis -> app/workers.

``make test`` runs the suite on several pytest-xdist workers with ``--dist loadfile``: each
worker has its own ``redis_server`` on a free port, and a file's tests (with a module-scoped
system) stay on one worker; a package-scoped system is started by each worker that needs it.
Tests that use ``make run``'s fixed local ports, assert a time bound, or cannot run on xdist
(the schemathesis fuzz: its items share one node id) are marked ``alone`` and run after the
parallel part in one process. A passing run reports every collected test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from cli.redis_server import LocalRedis, free_port
from wagehood.settings import Settings

LOCAL_PORTS = Path(__file__).parent / "system"  # make run's own ports, 6390 and up


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that use ``make run``'s fixed local ports ``alone``: run by themselves."""
    for item in items:
        if LOCAL_PORTS in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.alone)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedis]:
    """A throwaway redis-server on a free loopback port, in a temporary directory."""
    server = LocalRedis(directory=tmp_path_factory.mktemp("redis"), port=free_port())
    server.start(appendonly=True)
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server: LocalRedis) -> Iterator[redis_lib.Redis]:
    """A client of the test server, on an empty database."""
    client = redis_lib.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def settings(redis: redis_lib.Redis, redis_server: LocalRedis, tmp_path: Path) -> Settings:
    """Settings pointing at the test Redis and a temporary data directory."""
    return Settings.from_env(
        {
            "REDIS_URL": redis_server.url,
            "WAGEHOOD_DATA_DIR": str(tmp_path / "data"),
            "DATA_UPDATE_INTERVAL": "1",
        }
    )


@pytest.fixture
def process_env(settings: Settings, redis_server: LocalRedis, tmp_path: Path) -> dict[str, str]:
    """Environment for child processes (workers, beat, web) using the test Redis."""
    return {
        "REDIS_URL": redis_server.url,
        "WAGEHOOD_DATA_DIR": str(tmp_path / "data"),
        "DATA_UPDATE_INTERVAL": "1",
        "CALCULATION_WORKERS": "1",
        "LOG_LEVEL": "info",
    }
