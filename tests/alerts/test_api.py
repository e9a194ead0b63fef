"""The alerts API: rule and channel CRUD, permissions, the SSRF guard, logs and redelivery."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from tests.api.conftest import Keys, seed
from wagehood.alerts.log import new_record
from wagehood.service import delivery
from wagehood.settings import Settings
from wagehood.storage import keys as redis_keys
from wagehood.storage.redis_store import RedisStore

BASE = "/api/v1/realtime/alerts"


def test_rule_crud_round_trip(client: FlaskClient, keys: Keys) -> None:
    write = keys.header("write")
    body = {"name": "dip", "condition": "rsi_14 < 30", "cooldown": 300}
    created = client.post(f"{BASE}/rules", json=body, headers=write)
    assert created.status_code == 201, created.json
    assert created.json["timeframe"] == "1m"
    paused = client.patch(f"{BASE}/rules/dip", json={"enabled": False}, headers=write)
    assert paused.json["enabled"] is False
    listed = client.get(f"{BASE}/rules", headers=keys.header("read")).json
    assert [(r["name"], r["enabled"]) for r in listed["rules"]] == [("dip", False)]
    assert client.post(f"{BASE}/rules", json=body, headers=write).status_code == 409
    assert client.delete(f"{BASE}/rules/dip", headers=write).json == {"deleted": "dip"}
    assert client.get(f"{BASE}/rules/dip", headers=write).status_code == 404


def test_bad_condition_is_a_422_naming_the_position(client: FlaskClient, keys: Keys) -> None:
    answer = client.post(
        f"{BASE}/rules", json={"name": "x", "condition": "rsi_14 < )"}, headers=keys.header("write")
    )
    assert answer.status_code == 422
    error = answer.json["error"]
    assert error["message"] == "position 10: expected a number or indicator name, got ')'"
    assert error["field"] == "condition"
    unknown = client.post(
        f"{BASE}/rules", json={"name": "x", "condition": "rsi_99 < 1"}, headers=keys.header("write")
    )
    assert unknown.json["error"]["message"].startswith("position 1: unknown indicator 'rsi_99'")


def test_reading_needs_read_and_changing_needs_write(client: FlaskClient, keys: Keys) -> None:
    assert client.get(f"{BASE}/rules").status_code == 401
    assert client.get(f"{BASE}/channels", headers=keys.header("read")).status_code == 200
    body = {"name": "x", "condition": "close > 1"}
    assert client.post(f"{BASE}/rules", json=body, headers=keys.header("read")).status_code == 403


def test_loopback_and_private_channel_urls_are_refused_by_default(
    client: FlaskClient, keys: Keys
) -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest", "http://[::1]/x",
                "http://localhost/x", "ftp://example.com/x"):  # fmt: skip
        answer = client.post(
            f"{BASE}/channels", json={"name": "c", "url": url}, headers=keys.header("write")
        )
        assert answer.status_code == 422, url
        assert answer.json["error"]["field"] == "url"


def test_channel_secret_is_shown_once_and_urls_are_redacted(
    store: RedisStore, settings: Settings, client: FlaskClient, keys: Keys
) -> None:
    allowed = settings.replace(webhook_allow_private=True)
    _, secret = delivery.create_channel(
        store, allowed, {"name": "hook", "url": "http://127.0.0.1:9/t/SECRET", "format": "slack"}
    )
    assert secret.startswith("whsec_")
    listed = client.get(f"{BASE}/channels", headers=keys.header("read")).json
    text = json.dumps(listed)
    assert "SECRET" not in text
    assert secret not in text
    assert listed["channels"][0]["url"] == "http://127.0.0.1:9/…"
    patched = client.patch(
        f"{BASE}/channels/hook", json={"symbols": ["AAPL"], "enabled": False},
        headers=keys.header("write"),
    )  # fmt: skip
    assert (patched.json["symbols"], patched.json["enabled"]) == (["AAPL"], False)
    assert "secret" not in patched.json


def _dead_delivery(store: RedisStore, channel: str, event_id: str) -> None:
    event = {"event_id": event_id, "type": "alert", "created_at": 0.0,
             "signal": {"symbol": "AAPL", "timeframe": "1m", "signal_type": "ALERT",
                        "strategy": "alert:dip", "price": 1.0}}  # fmt: skip
    record = new_record(channel, event, 0.0) | {
        "status": "dead",
        "attempts": 3,
        "error": "HTTP 500",
    }
    store.client.hset(redis_keys.deliveries(channel), event_id, json.dumps(record))
    store.client.lpush(redis_keys.DELIVERY_DEAD, json.dumps(
        {"channel": channel, "event_id": event_id, "summary": "s", "attempts": 3,
         "error": "HTTP 500", "at": 0.0}))  # fmt: skip


def _hook_channel(store: RedisStore, settings: Settings) -> None:
    # A channel "hook" on a loopback URL nothing listens on, for the redeliver routes.
    delivery.create_channel(
        store, settings.replace(webhook_allow_private=True),
        {"name": "hook", "url": "http://127.0.0.1:9/x"},
    )  # fmt: skip


def test_delivery_log_dead_letters_and_redeliver(
    store: RedisStore, settings: Settings, client: FlaskClient, keys: Keys
) -> None:
    _hook_channel(store, settings)
    _dead_delivery(store, "hook", "evt_1")
    log = client.get(f"{BASE}/channels/hook/deliveries", headers=keys.header("read")).json
    assert log["deliveries"][0]["status"] == "dead"
    dead = client.get(f"{BASE}/deadletters", headers=keys.header("read")).json
    assert dead["count"] == 1
    sent = client.post(f"{BASE}/channels/hook/redeliver", json={}, headers=keys.header("write"))
    assert sent.status_code == 202
    assert sent.json == {"channel": "hook", "replayed": 1}
    # The delivery task went to the io worker's queue, never the pipeline worker's.
    queued = [json.loads(m)["headers"] for m in store.client.lrange("deliveries", 0, -1)]
    assert [(h["task"], h["argsrepr"]) for h in queued] == [
        ("wagehood.deliver_event", repr(["hook", "evt_1"]))
    ]
    assert store.client.llen("celery") == 0
    assert client.get(f"{BASE}/deadletters", headers=keys.header("read")).json["count"] == 0
    log = client.get(f"{BASE}/channels/hook/deliveries", headers=keys.header("read")).json
    assert (log["deliveries"][0]["status"], log["deliveries"][0]["attempts"]) == ("pending", 0)
    assert (
        client.get(f"{BASE}/channels/nope/deliveries", headers=keys.header("read")).status_code
        == 404
    )


def test_the_old_replay_path_answers_like_redeliver(
    store: RedisStore, settings: Settings, client: FlaskClient, keys: Keys
) -> None:
    _hook_channel(store, settings)
    answers = {}
    for tail in ("replay", "redeliver"):
        _dead_delivery(store, "hook", f"evt_{tail}")
        body = {"event_id": f"evt_{tail}"}
        sent = client.post(f"{BASE}/channels/hook/{tail}", json=body, headers=keys.header("write"))
        missing = client.post(f"{BASE}/channels/nope/{tail}", json={}, headers=keys.header("write"))
        answers[tail] = (sent.status_code, sent.json, missing.status_code, missing.json)
    assert answers["replay"] == answers["redeliver"]
    assert answers["replay"][:2] == (202, {"channel": "hook", "replayed": 1})
    assert answers["replay"][2] == 404
    assert client.get(f"{BASE}/deadletters", headers=keys.header("read")).json["count"] == 0


def test_fired_alerts_appear_in_the_signals_endpoint(
    store: RedisStore, settings: Settings, client: FlaskClient, keys: Keys
) -> None:
    body = {"name": "golden", "condition": "ema_12 crosses_above ema_26"}
    assert client.post(f"{BASE}/rules", json=body, headers=keys.header("write")).status_code == 201
    seed(store, settings, ["AAPL"], 3 * 3600)
    signals = client.get("/api/v1/realtime/signals/AAPL?limit=1000", headers=keys.header()).json
    alerts = [s for s in signals["signals"] if s["strategy"] == "alert:golden"]
    assert alerts
    assert alerts[0]["values"]["ema_12"] > alerts[0]["values"]["ema_26"]


def test_openapi_documents_the_alert_routes(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/rules", "/rules/{name}", "/channels", "/channels/{name}",
                 "/channels/{name}/deliveries", "/channels/{name}/redeliver", "/deadletters"):  # fmt: skip
        assert f"{BASE}{path}" in paths, path
    assert paths[f"{BASE}/channels/{{name}}/replay"]["post"]["deprecated"] is True
