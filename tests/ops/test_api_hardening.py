"""Issue 16's REST findings reproduced against the Procfile's real gunicorn (``system``)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import jwt

from tests.ops.system import System
from wagehood.service import auth
from wagehood.storage import keys as redis_keys

BUDGET_ROUTES = [
    "/realtime/config/watchlist",
    "/realtime/config/indicators",
    "/realtime/config/strategies",
    "/realtime/config/system",
    "/realtime/config/summary",
    "/realtime/monitor/stats",
    "/realtime/alerts/rules",
    "/realtime/alerts/channels",
]


def test_a_5_per_minute_key_gets_5_answers_across_8_routes(system: System) -> None:
    key = auth.create_key(system.store, "tight", "read", rate_limit="5/minute").key
    answers = [system.get(path, key=key) for path in BUDGET_ROUTES * 5]
    codes = [a.status_code for a in answers]
    assert codes == [200] * 5 + [429] * 35, codes
    limited = answers[5]
    assert limited.json()["error"]["type"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 61
    assert limited.headers["X-RateLimit-Limit"] == "5"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    key_id = auth.verify_key(system.store, key).key_id
    counters = list(system.store.client.scan_iter(f"*key:{key_id}*"))
    assert len(counters) == 1, counters
    assert httpx.get(f"{system.url}/api/v1/realtime/monitor/liveness").status_code == 200


def test_read_access_to_redis_gives_no_token_secret(system: System) -> None:
    issued = httpx.post(
        f"{system.url}/api/v1/auth/token",
        headers={"Authorization": f"Bearer {system.key}"},
        timeout=10,
    )
    assert system.get("/auth/keys", key=issued.json()["access_token"]).status_code == 200
    assert system.store.client.get(redis_keys.JWT_SECRET) is None
    secret_file = Path(system.env["WAGEHOOD_DATA_DIR"]) / auth.SECRET_FILE
    assert secret_file.stat().st_mode & 0o777 == 0o600
    key_id = auth.verify_key(system.store, system.key).key_id
    now = int(time.time())
    long_lived = {"sub": key_id, "iat": now, "exp": now + 31 * 365 * 86400, "typ": "access"}
    forged = jwt.encode(long_lived, secret_file.read_text().strip(), "HS256")
    assert system.get("/auth/keys", key=forged).status_code == 401
    system.store.client.set(redis_keys.JWT_SECRET, "planted" * 10)
    planted = jwt.encode(long_lived | {"exp": now + 60}, "planted" * 10, "HS256")
    assert system.get("/auth/keys", key=planted).status_code == 401
    system.store.client.delete(redis_keys.JWT_SECRET)


def _raw(system: System, payload: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", system.port), timeout=10) as sock:
        sock.sendall(payload)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split(" ", 2)[1]), headers, body


def test_gunicorn_answers_414_and_431_in_the_documented_json(system: System) -> None:
    long_line = b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    many_headers = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 200 + b"\r\n"
    huge_header = b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 20_000 + b"\r\n\r\n"
    cases = [(long_line, 414, "uri_too_long")]
    cases += [(many_headers, 431, "headers_too_large"), (huge_header, 431, "headers_too_large")]
    for payload, status, kind in cases:
        code, headers, body = _raw(system, payload)
        assert code == status, (payload[:40], code, body[:100])
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body)["error"]["type"] == kind
    assert system.web_up()


def test_a_5000_digit_json_integer_is_a_400_on_gunicorn(system: System) -> None:
    body = b'{"system": {"min_confidence": ' + b"9" * 5000 + b"}}"
    answer = httpx.put(
        f"{system.url}/api/v1/realtime/config/system",
        content=body,
        headers={"Authorization": f"Bearer {system.key}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "JSON number too long"


def test_metrics_content_type_names_its_charset_once(system: System) -> None:
    answer = httpx.get(f"{system.url}/metrics", timeout=10)
    assert answer.headers["Content-Type"].count("charset") == 1
