"""A configured plugin indicator that is no longer installed: the rest keeps running, reported."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from tests.api.conftest import Keys
from tests.factories import START, send_tick
from tests.processes import wait_for
from wagehood.indicators.registry import DEFAULT_INDICATORS
from wagehood.service import deadletters, health, queries
from wagehood.service.config import load_config, save_section
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Timeframe

SYMBOLS = ["AAPL", "MSFT"]


def closes_applied(store: RedisStore, tick: int) -> bool:
    for symbol in SYMBOLS:
        if float(store.client.hget(keys.live(symbol), "time") or 0) < tick:
            return False
        if store.client.hget(keys.engine(symbol, Timeframe.M1), "last_bar_time") is None:
            return False
    return True


def test_a_removed_plugin_indicator_leaves_the_pipeline_running_and_is_reported(
    plugin_dir, producer, start_worker, settings: Settings, tmp_path: Path
) -> None:
    directory = plugin_dir("donchian_indicator")  # installed where the config is saved
    store = RedisStore.from_url(settings.redis_url)
    with_plugin = settings.replace(plugin_paths=(str(directory),))
    save_section(store, with_plugin, "indicators", {**DEFAULT_INDICATORS, "dc_20": "donchian(20)"})
    empty = tmp_path / "no-plugins"
    empty.mkdir()
    settings = settings.replace(plugin_paths=(str(empty),))
    start_worker(PLUGIN_PATHS=str(empty))  # the package was removed on the worker's machine

    ticks = list(range(START, START + 600, 20))
    for tick in ticks:
        send_tick(producer, SYMBOLS, float(tick))
    wait_for(lambda: closes_applied(store, ticks[-1]), 120, "closes applied without the plugin")

    assert deadletters.total(store) == 0
    values = store.client.hget(keys.engine("AAPL", Timeframe.M1), "values") or ""
    assert '"sma_20"' in values
    assert "dc_20" not in values
    assert int(store.client.hget(keys.engine("AAPL", Timeframe.M1), "bars_processed") or 0) >= 8

    # This process without the plugin (a web process on the worker's machine):
    config = load_config(store, settings)
    assert config.uninstalled == {"dc_20": "donchian(20)"}
    assert "dc_20" not in config.indicators
    check = health.plugins_check(store, settings)
    assert check["status"] == "degraded"
    assert [(p["name"], p["status"]) for p in check["problems"]] == [("donchian", "missing")]
    assert "dc_20 = donchian(20)" in check["problems"][0]["error"]
    validation = queries.config_validation(store, settings)
    assert not validation["valid"]
    assert any("'dc_20'" in e["message"] for e in validation["errors"])


def test_the_api_shows_the_uninstalled_columns(
    plugin_dir, client: FlaskClient, keys: Keys, settings: Settings
) -> None:
    directory = plugin_dir("donchian_indicator")
    store = RedisStore.from_url(settings.redis_url)
    with_plugin = settings.replace(plugin_paths=(str(directory),))
    save_section(store, with_plugin, "indicators", {**DEFAULT_INDICATORS, "dc_20": "donchian(20)"})
    headers = {"Authorization": f"Bearer {keys.admin}"}  # the app runs without PLUGIN_PATHS

    shown = client.get("/api/v1/realtime/config/indicators", headers=headers)
    found = client.get("/api/v1/realtime/config/plugins", headers=headers)

    assert shown.status_code == 200
    assert shown.json["uninstalled"] == {"dc_20": "donchian(20)"}
    assert shown.json["indicators"] == DEFAULT_INDICATORS
    rows = {row["name"]: row for row in found.json["plugins"]}
    assert rows["donchian"]["status"] == "missing"
    assert (
        rows["donchian"]["error"]
        == "configured (dc_20 = donchian(20)) but not installed: not computed"
    )
