"""WebSocket against a real server: subscribe, unsubscribe, resume, slow consumer, bad frames."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib
import websocket
from flask import Flask
from werkzeug.serving import make_server

from api import create_app
from api.hub import Connection, Hub, Limits
from api.ws import parse_action
from tests.api.conftest import Keys
from tests.factories import START, context, mock_quotes
from wagehood.errors import ValidationError
from wagehood.service.pipeline import process_quotes
from wagehood.settings import Settings
from wagehood.storage import keys as redis_keys
from wagehood.storage.redis_store import RedisStore

PATH = "/api/v1/realtime/ws"


def connect(
    server: str, key: str | None, name: str = "c1", query: str = "", **options: Any
) -> websocket.WebSocket:
    header = [f"Authorization: Bearer {key}"] if key else []
    return websocket.create_connection(
        f"ws://{server}{PATH}/{name}{query}", header=header, timeout=10, **options
    )


def frame(ws: websocket.WebSocket) -> dict[str, Any]:
    """Return the next frame; a close frame reads as {"type": "close", "code", "reason"}."""
    opcode, data = ws.recv_data_frame(True)
    if opcode == websocket.ABNF.OPCODE_CLOSE:
        code = struct.unpack("!H", data.data[:2])[0] if len(data.data) >= 2 else None
        return {"type": "close", "code": code, "reason": data.data[2:].decode()}
    return json.loads(data.data)


def until(ws: websocket.WebSocket, kind: str) -> dict[str, Any]:
    while True:
        got = frame(ws)
        if got["type"] == kind:
            return got


def send(ws: websocket.WebSocket, **message: Any) -> None:
    ws.send(json.dumps(message))


def drive(
    store: RedisStore, settings: Settings, symbols: list[str], start: int, seconds: int
) -> None:
    ctx = context(store, settings)
    for quotes in mock_quotes(symbols, start, seconds, step=30):
        process_quotes(ctx, quotes)


def stream_seqs(client: redis_lib.Redis, symbols: set[str], after: int = 0) -> list[int]:
    return [
        int(i.split("-")[0])
        for i, f in client.xrange(redis_keys.UPDATES, f"{after + 1}-1", "+")
        if f["symbol"] in symbols
    ]


def test_subscribe_relays_bars_and_indicators_in_seq_order(
    live_server: str, keys: Keys, store: RedisStore, settings: Settings, raw_redis: redis_lib.Redis
) -> None:
    ws = connect(live_server, keys.read)
    send(ws, action="subscribe", symbols=["aapl"], include_indicators=True)
    assert frame(ws) == {
        "type": "subscribed",
        "seq": 0,
        "data": {"symbols": ["AAPL"], "include_indicators": True, "since_seq": None},
    }
    drive(store, settings, ["AAPL", "MSFT"], START, 600)
    expected = stream_seqs(raw_redis, {"AAPL"})
    got = [frame(ws) for _ in expected]
    assert [f["seq"] for f in got] == expected
    assert {f["type"] for f in got} == {"bar", "indicators"}
    assert all(f["data"]["symbol"] == "AAPL" for f in got)
    ws.close()


def test_include_indicators_false_and_unsubscribe_and_ping(
    live_server: str, keys: Keys, store: RedisStore, settings: Settings, raw_redis: redis_lib.Redis
) -> None:
    ws = connect(live_server, keys.read)
    send(ws, action="subscribe", symbols=["AAPL", "MSFT"], include_indicators=False)
    until(ws, "subscribed")
    drive(store, settings, ["AAPL"], START, 300)
    bars = [i for i, f in raw_redis.xrange(redis_keys.UPDATES) if f["type"] == "bar"]
    assert [frame(ws)["type"] for _ in bars] == ["bar"] * len(bars)
    send(ws, action="unsubscribe", symbols=["AAPL"])
    assert until(ws, "unsubscribed")["data"] == {"symbols": ["MSFT"]}
    drive(store, settings, ["AAPL"], START + 300, 120)
    send(ws, action="ping")
    assert frame(ws)["type"] == "pong", "no AAPL frame after unsubscribing"
    ws.close()


@pytest.mark.parametrize(
    "message",
    ["not json", "[1,2]", '{"action": "dance"}', '{"action": "subscribe", "symbols": []}',
     '{"action": "subscribe", "symbols": ["<script>"]}', '{"action": "subscribe", "symbols": [1]}',
     '{"action": "subscribe", "symbols": ["A"], "since_seq": -1}', "[" * 30_000 + "]" * 30_000,
     '{"action": "subscribe", "symbols": ["A"], "include_indicators": 1}',
     '{"action": "subscribe", "symbols": ["A"], "since_seq": "5"}',
     '{"action": "ping", "extra": true}', '{"symbols": ["A"]}'],
)  # fmt: skip
def test_malformed_messages_get_error_frames(live_server: str, keys: Keys, message: str) -> None:
    ws = connect(live_server, keys.read)
    ws.send(message)
    error = frame(ws)
    assert error["type"] == "error"
    assert error["data"]["message"]
    send(ws, action="ping")
    assert frame(ws)["type"] == "pong"
    ws.close()


def test_oversized_message_closes_with_1009(live_server: str, keys: Keys) -> None:
    ws = connect(live_server, keys.read)
    ws.send("x" * 100_000)
    assert until(ws, "close")["code"] == 1009
    ws.close()


def test_handshake_needs_a_valid_credential(live_server: str, keys: Keys, app: Flask) -> None:
    for key in (None, "wrong", keys.revoked):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            connect(live_server, key)
        assert refused.value.status_code == 401
    token = (
        app.test_client()
        .post("/api/v1/auth/token", headers=keys.header())
        .get_json()["access_token"]
    )
    ws = connect(live_server, None, query=f"?token={token}")
    send(ws, action="ping")
    assert frame(ws)["type"] == "pong"
    ws.close()


def test_resume_catches_up_missed_frames_then_live_without_gap_or_duplicate(
    live_server: str, keys: Keys, store: RedisStore, settings: Settings, raw_redis: redis_lib.Redis
) -> None:
    first = connect(live_server, keys.read)
    send(first, action="subscribe", symbols=["AAPL"])
    until(first, "subscribed")
    drive(store, settings, ["AAPL"], START, 300)
    seen = [frame(first)["seq"] for _ in stream_seqs(raw_redis, {"AAPL"})]
    first.close()
    drive(store, settings, ["AAPL"], START + 300, 600)  # missed while away
    producer = threading.Thread(target=drive, args=(store, settings, ["AAPL"], START + 900, 900))
    second = connect(live_server, keys.read, name="c2")
    producer.start()  # updates keep coming while the catch-up runs
    send(second, action="subscribe", symbols=["AAPL"], since_seq=seen[-1])
    assert until(second, "subscribed")["seq"] == seen[-1]
    producer.join()
    expected = stream_seqs(raw_redis, {"AAPL"}, after=seen[-1])
    resumed = [frame(second)["seq"] for _ in expected]
    assert resumed == expected
    send(second, action="ping")
    assert frame(second)["type"] == "pong", "no duplicate after the last frame"
    second.close()


@pytest.fixture
def small_queue_server(settings: Settings) -> Iterator[str]:
    app = create_app(settings, WS_QUEUE_SIZE=300, WS_SEND_BUFFER=65536)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_slow_consumer_is_dropped_with_a_reason_and_others_keep_up(
    small_queue_server: str, keys: Keys, raw_redis: redis_lib.Redis
) -> None:
    slow = connect(
        small_queue_server,
        keys.read,
        name="slow",
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),),
    )
    fast = connect(small_queue_server, keys.read, name="fast")
    for ws in (slow, fast):
        send(ws, action="subscribe", symbols=["SPY"])
        until(ws, "subscribed")
    received: list[int] = []
    reader = threading.Thread(
        target=lambda: received.extend(frame(fast)["seq"] for _ in range(1500))
    )
    reader.start()
    payload = json.dumps({"symbol": "SPY", "pad": "x" * 2000})  # 3 MB: more than queue + buffers
    for start in range(0, 1500, 25):
        pipe = raw_redis.pipeline()
        for seq in range(start + 1, start + 26):
            pipe.xadd(
                redis_keys.UPDATES, {"type": "bar", "symbol": "SPY", "data": payload}, id=f"{seq}-1"
            )
        pipe.execute()
        time.sleep(0.025)
    reader.join(timeout=30)
    assert received == list(range(1, 1501)), "the fast client got every frame in order"
    closing = until(slow, "close")
    assert closing["code"] == 1008
    assert "slow consumer" in closing["reason"]
    slow.close()
    fast.close()


@pytest.mark.parametrize(
    ("message", "field"),
    [({"action": "subscribe", "symbols": ["A"], "include_indicators": 1}, "include_indicators"),
     ({"action": "subscribe", "symbols": ["A"], "since_seq": 1.5}, "since_seq"),
     ({"action": "subscribe", "symbols": []}, "symbols"),
     ({"action": "ping", "extra": True}, "extra"),
     ({"action": "dance"}, "action")],
)  # fmt: skip
def test_message_schema_names_the_bad_field(message: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_action(json.dumps(message))
    assert refused.value.field == field


def test_hub_caps_sockets_per_address_and_in_all() -> None:
    hub = Hub(RedisStore.from_url("redis://127.0.0.1:1"))  # admit() never reads Redis
    hub.thread = threading.Thread()  # and no reader is started for this test
    hub.thread.is_alive = lambda: True  # type: ignore[method-assign]
    limits = Limits(per_key=10, per_address=2, total=3)

    def connection(owner: str, address: str) -> Connection:
        made = Connection(f"{owner}-{address}")
        made.owner, made.address = owner, address
        return made

    assert hub.admit(connection("a", "10.0.0.1"), limits) is None
    assert hub.admit(connection("b", "10.0.0.1"), limits) is None
    per_address = hub.admit(connection("c", "10.0.0.1"), limits)
    assert hub.admit(connection("c", "10.0.0.2"), limits) is None
    total = hub.admit(connection("d", "10.0.0.3"), limits)

    assert per_address == (1008, "too many WebSockets from this address (at most 2)")
    assert total == (1013, "server busy: all 3 WebSocket slots in use")
