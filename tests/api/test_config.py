"""Watchlist and runtime configuration endpoints (changes go through service/config.py)."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.api.conftest import Keys
from wagehood.errors import ProviderError
from wagehood.service import config, sync
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

BASE = "/api/v1/realtime/config"


def test_watchlist_add_one_many_delete_and_replace(client: FlaskClient, keys: Keys) -> None:
    h = keys.header("write")
    one = client.post(
        f"{BASE}/watchlist/add", json={"symbol": "aapl", "data_provider": "yahoo"}, headers=h
    )
    assert one.status_code == 200
    assert one.get_json()["symbols"][0] | {"added_at": 0, "sync": {}} == {
        "symbol": "AAPL",
        "data_provider": "yahoo",
        "added_at": 0,
        "sync": {},
    }
    many = client.post(
        f"{BASE}/watchlist/add",
        json={"symbols": ["SPY", {"symbol": "QQQ", "data_provider": "mock"}]},
        headers=h,
    )
    assert [e["symbol"] for e in many.get_json()["symbols"]] == ["AAPL", "QQQ", "SPY"]
    assert client.delete(f"{BASE}/watchlist/SPY", headers=h).get_json()["count"] == 2
    assert client.delete(f"{BASE}/watchlist/SPY", headers=h).status_code == 404
    replaced = client.put(f"{BASE}/watchlist", json={"symbols": ["IWM"]}, headers=h)
    assert [e["symbol"] for e in replaced.get_json()["symbols"]] == ["IWM"]
    assert client.get(f"{BASE}/watchlist", headers=keys.header()).get_json()["count"] == 1


def test_watchlist_add_rejects_bad_input_naming_the_field(client: FlaskClient, keys: Keys) -> None:
    h = keys.header("write")
    cases = [
        ({"symbol": "AAPL", "data_provider": "nasdaq"}, "data_provider"),
        ({"symbol": "<x>"}, "symbol"),
        ({}, "symbol"),
        ({"symbol": "A", "symbols": ["B"]}, "symbol"),
        ({"symbols": [42]}, "symbol"),
        ({"symbols": "AAPL"}, "symbols"),
    ]
    for body, field in cases:
        response = client.post(f"{BASE}/watchlist/add", json=body, headers=h)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["field"] == field, body


def test_malformed_json_body_is_400(client: FlaskClient, keys: Keys) -> None:
    response = client.post(
        f"{BASE}/watchlist/add",
        data="{not json",
        headers=keys.header("write") | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["type"] == "bad_request"


def test_indicator_change_is_stored_with_a_new_version(
    client: FlaskClient, keys: Keys, store: RedisStore, settings: Settings
) -> None:
    h = keys.header("write")
    before = client.get(f"{BASE}/indicators", headers=h).get_json()
    response = client.put(
        f"{BASE}/indicators", json={"indicators": {"sma_10": "sma(10)"}}, headers=h
    )
    assert response.status_code == 200
    assert response.get_json()["version"] == before["version"] + 1
    assert config.load_config(store, settings).indicators == {"sma_10": "sma(10)"}


def test_invalid_config_is_422_and_changes_nothing(
    client: FlaskClient, keys: Keys, store: RedisStore, settings: Settings
) -> None:
    h = keys.header("write")
    assert (
        client.put(
            f"{BASE}/indicators", json={"indicators": {"x": "nope(3)"}}, headers=h
        ).status_code
        == 422
    )
    bad_system = client.put(f"{BASE}/system", json={"system": {"min_confidence": 7}}, headers=h)
    assert bad_system.get_json()["error"]["field"] == "min_confidence"
    assert (
        client.put(f"{BASE}/strategies", json={"strategies": {"nope": {}}}, headers=h).status_code
        == 422
    )
    assert config.config_version(store) == 0


def test_system_partial_update_and_strategies_round_trip(client: FlaskClient, keys: Keys) -> None:
    h = keys.header("write")
    system = client.put(
        f"{BASE}/system", json={"system": {"min_confidence": 0.5}}, headers=h
    ).get_json()
    assert system["system"]["min_confidence"] == 0.5
    assert system["system"]["timeframes"]
    strategies = client.get(f"{BASE}/strategies", headers=h).get_json()["strategies"]
    saved = client.put(f"{BASE}/strategies", json={"strategies": strategies}, headers=h)
    assert saved.status_code == 200
    assert saved.get_json()["strategies"] == strategies


def test_summary_and_validate(client: FlaskClient, keys: Keys) -> None:
    client.post(f"{BASE}/watchlist/add", json={"symbol": "SPY"}, headers=keys.header("write"))
    summary = client.get(f"{BASE}/summary", headers=keys.header()).get_json()
    assert summary["watchlist"] == {"count": 1, "symbols": ["SPY"]}
    assert "sma_20" in summary["indicators"]
    assert client.get(f"{BASE}/validate", headers=keys.header()).get_json() == {
        "valid": True,
        "errors": [],
        "warnings": [],
        "version": 0,
        "notes": [],
    }


def test_watchlist_latest_and_stats_show_each_symbols_warm_up(
    client: FlaskClient, keys: Keys, store: RedisStore, settings: Settings
) -> None:
    client.post(f"{BASE}/watchlist/add", json={"symbol": "NVDA"}, headers=keys.header("write"))
    entry = client.get(f"{BASE}/watchlist", headers=keys.header()).get_json()["symbols"][0]
    assert entry["sync"]["state"] == "queued"
    assert entry["sync"]["warm"] is False
    # The dispatcher queues it (no worker runs here, so it stays queued, then fails).
    sync.due_warmups(store, config.load_config(store, settings).timeframes, 2, 90.0, 1e9)
    latest = client.get("/api/v1/realtime/data/latest/NVDA", headers=keys.header()).get_json()
    assert latest["sync"]["state"] == "queued"
    assert latest["sync"]["progress"] == 0.0
    sync.begin(store, "NVDA", 900, 1e9)
    sync.fail(store, "NVDA", ProviderError("NVDA: unknown symbol"), 1e9 + 1, temporary=False)
    entry = client.get(f"{BASE}/watchlist", headers=keys.header()).get_json()["symbols"][0]
    assert entry["sync"]["state"] == "failed"
    assert entry["sync"]["error"] == "NVDA: unknown symbol"
    assert entry["sync"]["retry_at"] == 1e9 + 1 + sync.FAILED_RETRY_SECONDS
    stats = client.get("/api/v1/realtime/monitor/stats", headers=keys.header()).get_json()
    assert stats["warmup"]["counts"]["failed"] == 1
    assert stats["warmup"]["symbols"]["NVDA"]["error"] == "NVDA: unknown symbol"


def test_validate_says_how_a_budget_slows_polling(client: FlaskClient, keys: Keys) -> None:
    symbols = [
        {"symbol": s, "data_provider": "yahoo"} for s in ("SPY", "QQQ", "IWM", "AAPL", "TSLA")
    ]
    client.put(f"{BASE}/watchlist", json={"symbols": symbols}, headers=keys.header("write"))

    report = client.get(f"{BASE}/validate", headers=keys.header()).get_json()

    assert report["valid"] is True
    assert report["notes"] == [
        "yahoo: 5 symbols at 1 s need 300 req/min, budget 60: each symbol every 5 s"
    ]


def test_health_says_how_a_budget_slows_polling(client: FlaskClient, keys: Keys) -> None:
    symbols = [{"symbol": s, "data_provider": "yahoo"} for s in ("SPY", "QQQ")]
    client.put(f"{BASE}/watchlist", json={"symbols": symbols}, headers=keys.header("write"))

    health = client.get("/api/v1/realtime/monitor/health").get_json()

    budgets = health["components"]["budgets"]
    assert budgets["status"] == "degraded"
    assert budgets["providers"]["yahoo"]["note"] == (
        "yahoo: 2 symbols at 1 s need 120 req/min, budget 60: each symbol every 2 s"
    )
    assert budgets["providers"]["yahoo"]["skipped_polls"] == 0
