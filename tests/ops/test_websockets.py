"""WebSocket attacks from issue 16 (findings 2, 7, 12, 13) against a real gunicorn (Procfile).

One web process with 8 threads (so 6 WebSocket slots and 2 kept for REST), at most 3 sockets
per key, and 3-second tokens.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websocket

from tests.cli.conftest import WAGEHOOD, clean_environ
from tests.ops.system import System
from tests.processes import wait_for
from wagehood import logs
from wagehood.service import auth
from wagehood.storage import keys

PATH = "/api/v1/realtime/ws"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    root = tmp_path_factory.mktemp("ws")
    system = System(
        root, ["SPY"], WEB_THREADS="8", WEB_CONCURRENCY="1", WS_MAX_PER_KEY="3",
        WS_MAX_PER_ADDRESS="100", JWT_TTL="3", LOG_FORMAT="text",
    )  # fmt: skip
    try:
        (root / "data").mkdir(parents=True)
        system.redis.start()
        system.start_process("web")
        wait_for(system.web_up, 30, "gunicorn to answer")
        yield system
    finally:
        system.stop()


def key(system: System, name: str, permissions: str = "read") -> tuple[str, str]:
    created = auth.create_key(system.store, name, permissions)
    return created.key, created.principal.key_id


def connect(system: System, name: str, credential: str, query: bool = False) -> Any:
    url = f"ws://127.0.0.1:{system.port}{PATH}/{name}"
    if query:
        return websocket.create_connection(f"{url}?token={credential}", timeout=15)
    header = [f"Authorization: Bearer {credential}"]
    return websocket.create_connection(url, header=header, timeout=15)


def closing(ws: Any) -> dict[str, Any]:
    """Read frames until the server's close frame; return its code and reason."""
    while True:
        opcode, data = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = struct.unpack("!H", data.data[:2])[0] if len(data.data) >= 2 else None
            return {"code": code, "reason": data.data[2:].decode()}


def subscribed(ws: Any) -> None:
    ws.send(json.dumps({"action": "subscribe", "symbols": ["SPY"]}))
    while json.loads(ws.recv())["type"] != "subscribed":
        pass


def test_revoking_a_key_closes_its_open_websockets_within_seconds(web: System) -> None:
    secret, key_id = key(web, "revoked-soon")
    sockets = [connect(web, f"rev{n}", secret) for n in range(2)]
    for ws in sockets:
        subscribed(ws)

    auth.revoke_key(web.store, key_id)
    revoked_at = time.monotonic()
    closes = [closing(ws) for ws in sockets]

    assert time.monotonic() - revoked_at < 8
    assert all(c["code"] == 4401 and "revoked" in c["reason"] for c in closes), closes
    for ws in sockets:
        ws.close()


def test_the_cli_stream_says_why_and_exits_with_the_auth_code_when_its_key_is_revoked(
    web: System, tmp_path: Path
) -> None:
    secret, key_id = key(web, "cli-streamer")
    env = clean_environ(tmp_path) | {"WAGEHOOD_API_URL": web.url, "WAGEHOOD_API_KEY": secret}
    stream = subprocess.Popen(
        [WAGEHOOD, "data", "stream", "SPY", "--duration", "60", "--format", "json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        printed: list[str] = []
        reader = threading.Thread(target=lambda: printed.extend(stream.stdout or []), daemon=True)
        reader.start()
        seq = 10**9

        def relayed() -> bool:
            nonlocal seq
            seq += 1
            update = {"type": "bar", "symbol": "SPY", "data": json.dumps({"symbol": "SPY"})}
            web.store.client.xadd(keys.UPDATES, update, id=keys.seq_id(seq))
            return bool(printed)

        wait_for(relayed, 30, "the stream to print a frame", interval=0.5)
        auth.revoke_key(web.store, key_id)
        _, errors = stream.communicate(timeout=30)
    finally:
        stream.kill()
        stream.wait()

    assert stream.returncode == 4, errors
    assert "4401" in errors
    assert "revoked" in errors


def test_an_expired_token_ends_its_websocket_and_a_renewed_one_reconnects(web: System) -> None:
    secret, _ = key(web, "token-holder")
    token = _token(web, secret)
    ws = connect(web, "tok1", token, query=True)
    subscribed(ws)
    opened = time.monotonic()

    close = closing(ws)

    assert close["code"] == 4401
    assert "expired" in close["reason"], close
    assert time.monotonic() - opened < 3 + 8  # JWT_TTL plus a few seconds
    ws.close()
    renewed = connect(web, "tok2", _token(web, secret), query=True)
    subscribed(renewed)
    renewed.close()


def _token(system: System, secret: str) -> str:
    answer = httpx.post(
        f"{system.url}/api/v1/auth/token", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_an_api_key_in_the_query_string_is_refused(web: System) -> None:
    secret, _ = key(web, "query-key")
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(web, "q1", secret, query=True)
    assert refused.value.status_code == 401
    assert b"query string" in (refused.value.resp_body or b"")


def test_websockets_are_capped_per_key_and_rest_stays_responsive_when_slots_are_full(
    web: System,
) -> None:
    holders = [key(web, f"holder{n}")[0] for n in range(3)]
    other, _ = key(web, "rest-user")
    opened = [connect(web, f"cap0-{n}", holders[0]) for n in range(3)]
    for ws in opened:
        subscribed(ws)
    fourth = connect(web, "cap0-4", holders[0])
    per_key = closing(fourth)
    fourth.close()
    opened += [connect(web, f"cap1-{n}", holders[1]) for n in range(3)]
    for ws in opened[3:]:
        subscribed(ws)
    seventh = connect(web, "cap2-0", holders[2])
    full = closing(seventh)
    seventh.close()

    started = time.monotonic()
    answer = httpx.get(
        f"{web.url}/api/v1/realtime/config/watchlist",
        headers={"Authorization": f"Bearer {other}"},
        timeout=10,
    )
    elapsed = time.monotonic() - started

    assert (per_key["code"], full["code"]) == (1008, 1013)
    assert "this API key (at most 3)" in per_key["reason"], per_key
    assert "all 6 WebSocket slots in use" in full["reason"], full
    assert answer.status_code == 200
    assert elapsed < 5
    for ws in opened:
        ws.close()


def test_websockets_are_capped_per_client_address(tmp_path: Path) -> None:
    system = System(tmp_path, ["SPY"], WEB_CONCURRENCY="1", WS_MAX_PER_ADDRESS="2")
    try:
        (tmp_path / "data").mkdir(parents=True)
        system.redis.start()
        system.start_process("web")
        wait_for(system.web_up, 30, "gunicorn to answer")
        secrets = [key(system, f"addr{n}")[0] for n in range(4)]
        first = [connect_from(system, "127.0.0.1", f"a{n}", secrets[n]) for n in range(2)]
        for ws in first:
            subscribed(ws)  # admitted and registered
        third = connect_from(system, "127.0.0.1", "a2", secrets[2])
        refused = closing(third)
        elsewhere = connect_from(system, "127.0.0.2", "b0", secrets[3])
        subscribed(elsewhere)
        for ws in [*first, third, elsewhere]:
            ws.close()
    finally:
        system.stop()

    assert refused["code"] == 1008
    assert "from this address (at most 2)" in refused["reason"], refused


def connect_from(system: System, source: str, name: str, credential: str) -> Any:
    sock = socket.create_connection(("127.0.0.1", system.port), 15, source_address=(source, 0))
    url = f"ws://127.0.0.1:{system.port}{PATH}/{name}"
    header = [f"Authorization: Bearer {credential}"]
    return websocket.create_connection(url, header=header, timeout=15, socket=sock)


def test_a_forged_log_line_in_the_connection_id_is_refused_and_escaped(web: System) -> None:
    secret, _ = key(web, "injector")
    ws = connect(web, "x%0A2026-01-01%2000:00:00,000%20CRITICAL%20forged:%20pwned", secret)
    close = closing(ws)
    ws.close()

    assert close["code"] == 1008
    assert "connection id" in close["reason"]
    log = (Path(web.root) / "web.log").read_text()
    forged = [line for line in log.splitlines() if "forged" in line]
    assert forged, "the refusal is logged, with the id escaped"
    assert not any(line.startswith("2026-01-01") for line in forged)
    assert all("\\n2026-01-01" in line for line in forged)


def test_text_log_lines_escape_control_characters_in_messages_and_context() -> None:
    record = logging.LogRecord(
        "api.ws", logging.WARNING, "f", 1, "refused %s", ("x\n2026 CRITICAL forged\r\x1b[2J",), None
    )
    record.connection = "c\nd"
    line = logs.TextFormatter().format(record)
    assert "\n" not in line
    assert "\r" not in line
    assert "x\\n2026 CRITICAL forged\\r\\x1b[2J" in line
    assert "connection=c\\nd" in line
