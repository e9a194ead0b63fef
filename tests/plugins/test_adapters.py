"""Plugins through the adapters: the config API, health, and ``wagehood plugins list``."""

from __future__ import annotations

import json

from click.testing import CliRunner
from flask.testing import FlaskClient

from api.app import create_app
from cli.main import cli
from tests.api.conftest import Keys
from wagehood.settings import Settings

BASE = "/api/v1/realtime/config"


def client_for(settings: Settings, directory: str) -> FlaskClient:
    return create_app(settings.replace(plugin_paths=(directory,))).test_client()


def test_config_api_lists_and_enables_a_plugin_strategy(plugin_dir, settings, keys: Keys) -> None:
    directory = plugin_dir("donchian_indicator", "donchian_strategy")
    client = client_for(settings, str(directory))
    h = keys.header("admin")

    listed = client.get(f"{BASE}/strategies", headers=h).get_json()
    enabled = client.put(
        f"{BASE}/strategies",
        json={"strategies": {"donchian_breakout": {"params": {"period": 15}}}},
        headers=h,
    )
    wrong = client.put(
        f"{BASE}/strategies",
        json={"strategies": {"donchian_breakout": {"params": {"period": "15"}}}},
        headers=h,
    )

    assert listed["available"]["donchian_breakout"] == {
        "plugin": True,
        "parameters": {
            "period": {"type": "integer", "default": 20},
            "min_confidence": {"type": "number", "default": 0.0},
        },
    }
    assert listed["available"]["rsi_trend"]["plugin"] is False
    assert enabled.status_code == 200
    assert enabled.get_json()["strategies"]["donchian_breakout"] == {
        "enabled": True,
        "params": {"period": 15},
    }
    assert wrong.status_code == 422
    assert "period must be of type integer, was '15'" in wrong.get_json()["error"]["message"]


def test_health_and_plugins_route_show_an_import_failure(plugin_dir, settings, keys: Keys) -> None:
    directory = plugin_dir("broken_import", "future_version", "donchian_strategy")
    client = client_for(settings, str(directory))

    health = client.get("/api/v1/realtime/monitor/health").get_json()
    found = client.get(f"{BASE}/plugins", headers=keys.header("read")).get_json()["plugins"]

    problems = health["components"]["plugins"]
    assert problems["status"] == "degraded"
    assert [(p["name"], p["status"]) for p in problems["problems"]] == [
        ("broken_import.py", "failed"),
        ("from_the_future", "refused"),
    ]
    assert {p["name"]: p["status"] for p in found}["donchian_breakout"] == "loaded"


def test_cli_plugins_list_prints_name_kind_package_version_interface_status(
    plugin_dir, settings
) -> None:
    directory = plugin_dir("donchian_indicator", "donchian_strategy", "future_version")
    env = {"PLUGIN_PATHS": str(directory), "REDIS_URL": settings.redis_url}

    result = CliRunner().invoke(cli, ["plugins", "list", "--format", "json"], env=env)

    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["donchian"] == {
        "name": "donchian",
        "kind": "indicator",
        "package": "file",
        "version": "-",
        "interface": 1,
        "status": "loaded",
        "failures": 0,
        "error": "",
    }
    assert rows["from_the_future"]["status"] == "refused"


def test_alert_rules_accept_a_plugin_indicator_and_strategy(plugin_dir, settings, redis) -> None:
    from wagehood.service import alert_rules  # noqa: PLC0415
    from wagehood.service.config import save_section  # noqa: PLC0415
    from wagehood.storage.redis_store import RedisStore  # noqa: PLC0415

    directory = plugin_dir("donchian_indicator", "donchian_strategy")
    settings = settings.replace(plugin_paths=(str(directory),))
    store = RedisStore.from_url(settings.redis_url)
    save_section(store, settings, "indicators", {"sma_20": "sma(20)", "dc": "donchian(10)"})

    rule = alert_rules.create_rule(
        store,
        settings,
        {"name": "breakout", "condition": "close > dc_upper or signal donchian_breakout"},
    )

    assert rule.name == "breakout"
