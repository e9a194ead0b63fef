"""A fired alert reaches WebSocket subscribers as a ``signal`` frame."""

from __future__ import annotations

import json

import websocket

from tests.api.conftest import Keys, seed
from wagehood.service import alert_rules
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore


def test_alert_is_relayed_as_a_signal_frame(
    store: RedisStore, settings: Settings, live_server: str, keys: Keys
) -> None:
    condition = "ema_12 crosses_above ema_26"
    alert_rules.create_rule(store, settings, {"name": "golden", "condition": condition})
    seed(store, settings, ["AAPL"], 3 * 3600)
    ws = websocket.create_connection(
        f"ws://{live_server}/api/v1/realtime/ws/alerts-test",
        header=[f"Authorization: Bearer {keys.read}"],
        timeout=10,
    )
    try:
        ws.send(json.dumps({"action": "subscribe", "symbols": ["AAPL"], "since_seq": 0}))
        strategies = set()
        while "alert:golden" not in strategies:
            got = json.loads(ws.recv())
            if got["type"] == "signal":
                strategies.add(got["data"]["strategy"])
    finally:
        ws.close()
    assert "alert:golden" in strategies
