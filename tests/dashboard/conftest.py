"""Browser fixtures: a live system (Redis, worker, beat, API) and headless Chromium.

``live`` is one real system for the package: its own redis-server, the API served by a
threaded werkzeug server (the dashboard included), a Celery worker and beat as subprocesses
ticking SPY every second with the mock provider, and SPY's last 90 minutes seeded through the
real pipeline at simulated times (the mock market is a pure function of time, so the seeded
history and the live ticks form one series). ``browser`` is Debian's chromium driven by its
chromedriver; without them the tests skip, saying how to install them.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from werkzeug.serving import make_server

from api import create_app
from cli.redis_server import LocalRedis, free_port
from tests.factories import context, mock_quotes
from tests.processes import ROOT, Proc, celery_beat, celery_worker, env_for, wait_for
from wagehood.service import auth, watchlist
from wagehood.service.pipeline import process_quotes
from wagehood.service.signals import evaluate_strategies
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

LIVE = "SPY"
SEEDED_SECONDS = 90 * 60
TOKEN_TTL = 8  # seconds: short, so that every test also runs across token renewals
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1100",
)
INSTALL_HINT = (
    "run `make test` as root (it installs Debian's chromium and chromium-driver with apt-get) "
    "or `apt-get install chromium chromium-driver`"
)


@dataclass
class Live:
    """The running system: its URL, keys and store."""

    url: str
    write_key: str
    read_key: str
    settings: Settings
    store: RedisStore


def browser_binaries() -> tuple[str, str]:
    """Return the paths of chromium and chromedriver, or skip the test saying why."""
    try:
        import selenium  # noqa: F401, PLC0415 - optional: only these tests need it
    except ImportError:
        pytest.skip("browser tests need selenium: pip install -e '.[test]'")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip(f"browser tests need chromium and chromedriver, not installed: {INSTALL_HINT}")
    return chromium, driver


def _live_time(store: RedisStore) -> float:
    return float(store.client.hget(keys.live(LIVE), "time") or 0)


def _seed(store: RedisStore, settings: Settings, end: int) -> None:
    ctx = context(store, settings)
    for quotes in mock_quotes([LIVE], end - SEEDED_SECONDS, SEEDED_SECONDS, step=15):
        refs = process_quotes(ctx, quotes)
        if refs:
            evaluate_strategies(ctx, refs)


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Start Redis, seed SPY, start worker, beat and the API; stop them all afterwards."""
    browser_binaries()
    root = tmp_path_factory.mktemp("dashboard")
    server = LocalRedis(directory=root / "redis", port=free_port())
    server.start(appendonly=False)
    settings_env = {"REDIS_URL": server.url, "WAGEHOOD_DATA_DIR": str(root / "data"),
                    "DATA_UPDATE_INTERVAL": "1", "CALCULATION_WORKERS": "1",
                    "WATCHLIST_SYMBOLS": LIVE, "LOG_LEVEL": "info",
                    "JWT_TTL": str(TOKEN_TTL)}  # fmt: skip
    settings = Settings.from_env(settings_env)
    store = RedisStore.from_url(settings.redis_url, settings.redis_streams_maxlen)
    watchlist.add(store, [(LIVE, "mock")])
    procs: list[Proc] = [celery_worker(env_for(settings_env), root / "worker.log")]
    _seed(store, settings, int(time.time()) - 1)
    procs.append(celery_beat(env_for(settings_env), root / "beat.log", root))
    http = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    system = Live(
        f"http://127.0.0.1:{http.server_port}",
        auth.create_key(store, "dashboard-writer", "read,write").key,
        auth.create_key(store, "dashboard-reader", "read").key,
        settings,
        store,
    )
    try:
        wait_for(lambda: _live_time(store) > time.time() - 10, 60, "the worker to apply live ticks")
        yield system
    finally:
        http.shutdown()
        thread.join(timeout=5)
        for proc in procs:
            proc.stop()
        server.stop()


@pytest.fixture(scope="package")
def browser(live: Live) -> Iterator[WebDriver]:
    """Headless Chromium (a fresh profile), quit afterwards."""
    from selenium import webdriver  # noqa: PLC0415 - optional dependency
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    chromium, chromedriver = browser_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    with tempfile.TemporaryDirectory(prefix="wagehood-chromium-") as profile:
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(chromedriver))
        driver.set_page_load_timeout(20)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture(scope="package")
def artifacts() -> Path:
    """The directory screenshots are saved in (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
