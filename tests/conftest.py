"""Layered fixtures: settings -> redis_server (a real redis-server) -> redis -> app/workers.

``make test`` runs the suite on several pytest-xdist workers. Each worker has its own
``redis_server`` on a free port, so tests are independent, except those that share a package-
or module-scoped fixture (a whole system started once) and those that use ``make run``'s
fixed local ports: each such set is one group, run by one worker, in order. The workers know
the fixtures, the scheduler (in the controlling process) only node ids: each worker writes
its groups to ``GROUPS_DIR`` before it reports its collection, and ``GroupScheduling`` reads
them. (xdist's own ``--dist loadgroup`` renames node ids, which pytest 9 no longer allows.)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from xdist.scheduler import LoadScopeScheduling

from cli.redis_server import LocalRedis, free_port
from wagehood.settings import Settings

LOCAL_PORTS = Path(__file__).parent / "system"  # make run's own ports, 6390 and up


GROUPS_DIR = "WAGEHOOD_TEST_GROUPS_DIR"


def pytest_configure(config: pytest.Config) -> None:
    """In the controlling process of an xdist run, make the directory the workers write to."""
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        os.environ.setdefault(GROUPS_DIR, tempfile.mkdtemp(prefix="wagehood-test-groups-"))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the controlling process's group directory."""
    controller = not hasattr(config, "workerinput")
    if config.pluginmanager.hasplugin("xdist") and controller and GROUPS_DIR in os.environ:
        shutil.rmtree(os.environ.pop(GROUPS_DIR), ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker, write which tests must run together (see the module docstring)."""
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker is None or GROUPS_DIR not in os.environ:
        return
    groups = {item.nodeid: group for item in items if (group := _shared_group(item))}
    path = Path(os.environ[GROUPS_DIR]) / f"{worker}.json"
    path.with_suffix(".tmp").write_text(json.dumps(groups))
    path.with_suffix(".tmp").replace(path)


class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """xdist's scope scheduling, with the groups the workers wrote as scopes."""

    groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self.groups is None:  # first asked once every worker has reported its collection
            found = sorted(Path(os.environ[GROUPS_DIR]).glob("*.json"))
            self.groups = {k: v for p in found for k, v in json.loads(p.read_text()).items()}
        return self.groups.get(nodeid, nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> GroupScheduling:
    """Schedule by group: a group's tests go to one worker; every other test anywhere."""
    return GroupScheduling(config, log)


def _shared_group(item: pytest.Item) -> str | None:
    if LOCAL_PORTS in Path(str(item.path)).parents:
        return "local-run-ports"
    # The widest shared scope wins: a module that has its own fixture besides its package's
    # system stays with the package (else the system would be started again for it).
    info = getattr(item, "_fixtureinfo", None)
    shared: dict[str, str] = {}
    for name in info.names_closure if info is not None else ():
        definitions = info.name2fixturedefs.get(name) or ()
        if definitions and definitions[-1].scope in ("package", "module"):
            shared.setdefault(definitions[-1].scope, definitions[-1].baseid)
    return shared.get("package") or shared.get("module")


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
