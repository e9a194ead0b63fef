"""Beat + workers as the Procfile runs them: the watchlist changes at run time."""

from __future__ import annotations

import time
from pathlib import Path

from tests.processes import celery_beat, wait_for
from wagehood.service import watchlist
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore


def updated_at(store: RedisStore, symbol: str) -> float:
    value = store.client.hget(keys.live(symbol), "updated_at")
    return float(value) if value else 0.0


def test_beat_follows_watchlist_changes_without_restart(
    start_worker, process_env, settings: Settings, tmp_path: Path
) -> None:
    store = RedisStore.from_url(settings.redis_url)
    watchlist.replace_all(store, [("AAPL", "mock")])
    start_worker()
    beat = celery_beat(process_env, tmp_path / "beat.log", tmp_path)
    try:
        wait_for(lambda: updated_at(store, "AAPL") > 0, 30, "AAPL to be fetched")
        assert store.client.exists(keys.live("SPY")) == 0, "a symbol nobody added was fetched"

        watchlist.add(store, [("NVDA", "mock")])
        added = time.time()
        wait_for(lambda: updated_at(store, "NVDA") > 0, 10, "NVDA to be fetched after it was added")
        assert updated_at(store, "NVDA") - added < 3.5

        watchlist.remove(store, "AAPL")
        time.sleep(2.5)  # a tick already dispatched may still land
        stopped = updated_at(store, "AAPL")
        time.sleep(3)
        assert updated_at(store, "AAPL") == stopped, "a removed symbol kept being fetched"
        assert updated_at(store, "NVDA") > stopped
        assert float(store.client.get(keys.BEAT_HEARTBEAT)) > time.time() - 3
    finally:
        beat.stop()


def test_default_watchlist_is_seeded_once(
    start_worker, process_env, settings: Settings, tmp_path: Path
) -> None:
    store = RedisStore.from_url(settings.redis_url)
    start_worker(WATCHLIST_SYMBOLS="QQQ,IWM")
    beat = celery_beat(
        {**process_env, "WATCHLIST_SYMBOLS": "QQQ,IWM"}, tmp_path / "beat.log", tmp_path
    )
    try:
        wait_for(
            lambda: updated_at(store, "IWM") > 0 and updated_at(store, "QQQ") > 0,
            30,
            "the seeded symbols",
        )
        assert [e.symbol for e in watchlist.entries(store)] == ["IWM", "QQQ"]
    finally:
        beat.stop()
