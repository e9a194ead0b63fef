"""CLI fixtures: an isolated HOME, a CliRunner, and a live system for end-to-end runs.

``live`` is one real system for the whole package: its own redis-server, the API served by a
threaded werkzeug server, a Celery worker and beat as subprocesses, data seeded through the
real pipeline, and keys. Tests run the installed console script against it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from api import create_app
from cli.redis_server import LocalRedis, free_port
from tests.factories import START, context, mock_quotes
from tests.processes import Proc, celery_beat, celery_worker, env_for, wait_for
from wagehood.service import auth, watchlist
from wagehood.service.pipeline import process_quotes
from wagehood.service.signals import evaluate_strategies
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore

WAGEHOOD = str(Path(sys.executable).parent / "wagehood")
SEEDED = "MSFT"  # seeded history only: deterministic
LIVE = "SPY"  # on the watchlist: updated every second by beat and the worker
SEEDED_SECONDS = 3 * 3600
ROOT = Path(__file__).resolve().parents[2]


def clean_environ(home: Path) -> dict[str, str]:
    """Return our environment without WAGEHOOD_*/NO_COLOR, with HOME at ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGEHOOD_")}
    env.pop("NO_COLOR", None)
    return env | {"HOME": str(home)}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME (so ~/.wagehood/cli_config.yaml is the test's) and no WAGEHOOD_* variables."""
    path = tmp_path / "home"
    path.mkdir()
    for name in [k for k in os.environ if k.startswith("WAGEHOOD_") or k == "NO_COLOR"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(path))
    return path


@pytest.fixture
def runner(home: Path) -> CliRunner:
    """A CliRunner with stdout and stderr kept apart."""
    return CliRunner()


@dataclass
class Live:
    """The running system and how to call the console script against it."""

    url: str
    key: str
    read_key: str
    settings: Settings
    store: RedisStore
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 60,
        cwd: Path = ROOT,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``wagehood ARGS`` as a subprocess; return its result (never raises on exit codes)."""
        return subprocess.run(  # noqa: PLW1510 - callers assert on returncode
            [WAGEHOOD, *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
        )


def _live_time(store: RedisStore) -> float:
    return float(store.client.hget(keys.live(LIVE), "time") or 0)


def _seed(store: RedisStore, settings: Settings) -> None:
    ctx = context(store, settings)
    for quotes in mock_quotes([SEEDED, LIVE], START, SEEDED_SECONDS, step=10):
        refs = process_quotes(ctx, quotes)
        if refs:
            evaluate_strategies(ctx, refs)


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Start Redis, worker, beat and the API once for the package's end-to-end tests."""
    root = tmp_path_factory.mktemp("live")
    server = LocalRedis(directory=root / "redis", port=free_port())
    server.start(appendonly=False)
    settings_env = {"REDIS_URL": server.url, "WAGEHOOD_DATA_DIR": str(root / "data"),
                    "DATA_UPDATE_INTERVAL": "1", "CALCULATION_WORKERS": "1",
                    "WATCHLIST_SYMBOLS": LIVE, "LOG_LEVEL": "info"}  # fmt: skip
    settings = Settings.from_env(settings_env)
    store = RedisStore.from_url(settings.redis_url, settings.redis_streams_maxlen)
    watchlist.add(store, [(LIVE, "mock")])
    procs: list[Proc] = [celery_worker(env_for(settings_env), root / "worker.log")]
    _seed(store, settings)
    procs.append(celery_beat(env_for(settings_env), root / "beat.log", root))
    http = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    home = root / "home"
    home.mkdir()
    url = f"http://127.0.0.1:{http.server_port}"
    key = auth.create_key(store, "cli-tests", "admin").key
    env = clean_environ(home) | settings_env | {"WAGEHOOD_API_URL": url, "WAGEHOOD_API_KEY": key}
    env["API_PORT"] = str(free_port())
    system = Live(
        url, key, auth.create_key(store, "reader", "read").key, settings, store, home, env
    )
    try:
        wait_for(lambda: _live_time(store) > time.time() - 30, 60, "the worker to apply live ticks")
        yield system
    finally:
        http.shutdown()
        thread.join(timeout=5)
        for proc in procs:
            proc.stop()
        server.stop()
