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
from tests.api.conftest import Keys
from tests.factories import START, context, mock_quotes
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
     '{"action": "subscribe", "symbols": ["A"], "since_seq": -1}', "[" * 30_000 + "]" * 30_000],
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


def test_resume_replays_missed_frames_then_live_without_gap_or_duplicate(
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
    producer.start()  # updates keep coming while the replay runs
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
