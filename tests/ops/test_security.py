"""Security: every route refuses bad credentials, keys are hashed at rest, hostile input is
answered with 4xx (never 5xx), failed logins are limited, and real gunicorn rejects
oversized requests cleanly."""

from __future__ import annotations

import inspect
import json
import re
import socket
import time

import httpx
import jwt
import pytest
import websocket
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.security import PUBLIC
from tests.ops.system import System, rss_kib
from wagehood.service import auth
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint.startswith("ws."):
            continue  # the WebSocket handshake is checked against real gunicorn below
        path = re.sub(r"<[^>]+>", "AAPL", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path, rule.endpoint))
    return found


def test_every_protected_route_refuses_missing_wrong_revoked_and_expired(
    settings: Settings,
) -> None:
    app = create_app(settings, AUTH_FAILURE_LIMIT=10**6)
    client: FlaskClient = app.test_client()
    store = RedisStore.from_url(settings.redis_url)
    revoked = auth.create_key(store, "old", "admin")
    auth.revoke_key(store, revoked.principal.key_id)
    reader = auth.create_key(store, "r", "read")
    secret = auth.jwt_secret(store, settings)
    claims = {"sub": reader.principal.key_id, "exp": int(time.time()) - 1}
    expired = jwt.encode(claims, secret, "HS256")
    bad = [None, reader.key[:-3] + "xyz", revoked.key, expired, "wh_" + "0" * 16 + "_x"]
    routes = _routes(app)
    assert len(routes) > 20
    for method, path, endpoint in routes:
        for credential in bad:
            headers = {"Authorization": f"Bearer {credential}"} if credential else {}
            answer = client.open(path, method=method, headers=headers, json={})
            assert answer.status_code == 401, (method, path, endpoint, credential)


def test_under_privileged_keys_get_403_on_writes_and_admin(settings: Settings) -> None:
    app = create_app(settings)
    client = app.test_client()
    store = RedisStore.from_url(settings.redis_url)
    reader = auth.create_key(store, "r", "read").key
    writer = auth.create_key(store, "w", "read,write").key
    for method, path, endpoint in _routes(app):
        if endpoint.startswith("auth.") and endpoint != "auth.token":
            answer = client.open(path, method=method, headers=_bearer(writer), json={})
            assert answer.status_code == 403, (method, path)
        elif method != "GET" and endpoint != "auth.token" and not endpoint.startswith("ws."):
            answer = client.open(path, method=method, headers=_bearer(reader), json={})
            assert answer.status_code == 403, (method, path)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_are_never_stored_in_plaintext_anywhere_in_redis(settings: Settings) -> None:
    store = RedisStore.from_url(settings.redis_url)
    created = auth.create_key(store, "k", "admin").key
    client = create_app(settings).test_client()
    client.post("/api/v1/auth/token", headers=_bearer(created))
    client.get("/api/v1/realtime/config/watchlist", headers=_bearer(created + "x"))
    secret_part = created.split("_", 2)[2]
    for name in store.client.scan_iter("*"):
        dumped = store.client.dump(name) or b""
        assert secret_part.encode() not in dumped, name


def test_key_comparison_is_constant_time() -> None:
    source = inspect.getsource(auth.verify_key)
    assert "hmac.compare_digest" in source
    assert not re.search(r"stored\s*==|==\s*_digest", source)


def test_failed_authentications_are_limited_per_address(settings: Settings) -> None:
    app = create_app(settings, AUTH_FAILURE_LIMIT=5)
    client = app.test_client()
    key = auth.create_key(RedisStore.from_url(settings.redis_url), "k", "read").key
    codes = [
        client.get("/api/v1/realtime/config/watchlist", headers=_bearer("wh_bad")).status_code
        for _ in range(7)
    ]
    assert codes == [401] * 5 + [429] * 2
    blocked = client.get("/api/v1/realtime/config/watchlist", headers=_bearer("wh_bad"))
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "60"
    valid = client.get("/api/v1/realtime/config/watchlist", headers=_bearer(key))
    assert valid.status_code == 200  # a valid key from the same address is let through
    assert client.get("/api/v1/realtime/monitor/health").status_code in {200, 503}


HOSTILE_PATHS = [
    "/api/v1/realtime/data/latest/%27%3BDROP%20TABLE",
    "/api/v1/realtime/data/latest/%F0%9F%92%A9",
    "/api/v1/realtime/data/latest/" + "A" * 5000,
    "/api/v1/realtime/data/latest/..%2F..%2Fetc%2Fpasswd",
    "/api/v1/realtime/data/latest/AAPL%00",
    "/api/v1/realtime/signals/AAPL?limit=-1",
    "/api/v1/realtime/signals/AAPL?limit=99999999999999999999",
    "/api/v1/realtime/data/historical/AAPL?limit=-5&start=not-a-date",
    "/api/v1/realtime/indicators/AAPL?timeframe=%3Cscript%3E",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_paths_and_queries_are_4xx(settings: Settings, path: str) -> None:
    key = auth.create_key(RedisStore.from_url(settings.redis_url), "k", "admin").key
    answer = create_app(settings).test_client().get(path, headers=_bearer(key))
    assert 400 <= answer.status_code < 500, answer.get_data()[:200]
    assert "error" in answer.get_json()


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps({"symbols": ["A" * 100] * 10_000}).encode(),
        json.dumps({"symbol": "'; DROP TABLE x; --"}).encode(),
        json.dumps({"symbol": "\u202eLPAA"}).encode(),
        b"\xff\xfe garbage",
        json.dumps({"symbols": [{"symbol": {"$ne": 1}}]}).encode(),
    ],
)
def test_hostile_bodies_are_4xx(settings: Settings, body: bytes) -> None:
    key = auth.create_key(RedisStore.from_url(settings.redis_url), "k", "admin").key
    answer = (
        create_app(settings)
        .test_client()
        .post(
            "/api/v1/realtime/config/watchlist/add",
            data=body,
            headers=_bearer(key) | {"Content-Type": "application/json"},
        )
    )
    assert 400 <= answer.status_code < 500, answer.get_data()[:200]


def test_cors_wildcard_is_never_sent_with_credentials(settings: Settings) -> None:
    app = create_app(settings.replace(cors_origins="*"))
    answer = app.test_client().get(
        "/api/v1/realtime/monitor/health", headers={"Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_defaults_bind_loopback() -> None:
    assert Settings.from_env({}).api_host == "127.0.0.1"


def _raw(system: System, payload: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", system.port), timeout=timeout) as sock:
        sock.sendall(payload)
        return sock.recv(4096)


def test_gunicorn_rejects_oversized_requests_cleanly(system: System) -> None:
    long_line = b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    many_headers = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 200 + b"\r\n"
    huge_header = b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 20_000 + b"\r\n\r\n"
    body_header = (
        b"POST /api/v1/realtime/config/watchlist/add HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n"
    )
    for payload in (long_line, many_headers, huge_header, body_header):
        status = int(_raw(system, payload).split(b" ", 2)[1])
        assert 400 <= status < 500, (payload[:60], status)
    big = httpx.post(
        f"{system.url}/api/v1/realtime/config/watchlist/add",
        content=b"{" * 2_000_000,
        headers={"Authorization": f"Bearer {system.key}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert big.status_code == 413
    assert system.web_up()


def test_websocket_handshake_refuses_bad_credentials(system: System) -> None:
    store = system.store
    revoked = auth.create_key(store, "gone", "read")
    auth.revoke_key(store, revoked.principal.key_id)
    secret = auth.jwt_secret(store, system.settings)
    claims = {"sub": auth.verify_key(store, system.read_key).key_id, "exp": int(time.time()) - 1}
    expired = jwt.encode(claims, secret, "HS256")
    url = f"ws://127.0.0.1:{system.port}/api/v1/realtime/ws/c"
    cases = [([], ""), ([f"Authorization: Bearer {revoked.key}"], ""), ([], f"?token={expired}")]
    cases.append(([f"Authorization: Bearer {system.read_key}x"], ""))
    for header, query in cases:
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(url + query, header=header, timeout=5)
        assert refused.value.status_code == 401


def _flood(ws: websocket.WebSocket) -> None:
    for _ in range(500):
        ws.send('{"action": "ping"}')
        ws.recv()


def test_gunicorn_survives_malformed_websocket_frames_and_floods(system: System) -> None:
    before = rss_kib(system.procs["web"].pid)
    url = f"ws://127.0.0.1:{system.port}/api/v1/realtime/ws/hostile"
    header = [f"Authorization: Bearer {system.read_key}"]
    for message in (b"\xff\x00\xfe", "{", "[]" * 10_000, '{"action": "subscribe", "symbols": 5}'):
        ws = websocket.create_connection(url, header=header, timeout=5)
        if isinstance(message, bytes):
            ws.send_binary(message)
        else:
            ws.send(message)
        assert json.loads(ws.recv())["type"] in {"error"}
        ws.close()
    flood = websocket.create_connection(url, header=header, timeout=5)
    with pytest.raises((websocket.WebSocketException, OSError)):
        _flood(flood)
    for _ in range(200):
        assert httpx.get(f"{system.url}/api/v1/realtime/monitor/liveness").status_code == 200
    assert rss_kib(system.procs["web"].pid) - before < 50_000
    assert system.web_up()
