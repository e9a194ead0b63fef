"""Webhook attacks from issue 16 (findings 4 and 5, and replayable signatures), reproduced.

Only loopback servers take part. The address guard is tested by asserting it refuses an
address, never by connecting to one; a delivery pinned to a "public" address goes through
a socket layer that records the address and refuses anything that is not loopback.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from celery import Celery
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from tests.alerts.conftest import RECEIVER_ENV
from tests.alerts.test_delivery_e2e import channel, inject, ok, receiver, status_is
from tests.processes import wait_for
from wagehood import logs
from wagehood.alerts import transport
from wagehood.alerts.transport import Network
from wagehood.alerts.urls import check_url, is_public
from wagehood.errors import ValidationError
from wagehood.service import delivery
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

PUBLIC = "93.184.216.34"  # a public address the guard accepts; never connected to here

EMBEDDED = [
    "::127.0.0.1",  # IPv4-compatible, dotted
    "::7f00:1",  # the same, in hex
    "::10.0.0.1",
    "64:ff9b::127.0.0.1",  # NAT64 of loopback
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
    "64:ff9b::c0a8:101",  # NAT64 of 192.168.1.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "::ffff:127.0.0.1",
]


@pytest.mark.parametrize("address", EMBEDDED)
def test_guard_refuses_ipv6_forms_that_embed_a_private_ipv4_address(address: str) -> None:
    assert not is_public(address)
    with pytest.raises(ValidationError, match="non-public address"):
        check_url("https://hooks.example.com/x", False, lambda *_: [address])


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111"])
def test_guard_accepts_ipv6_forms_of_public_addresses(address: str) -> None:
    assert is_public(address)


class Rebinding:
    """A resolver answering a public address to the first question and loopback after."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return [PUBLIC] if self.calls == 1 else ["127.0.0.1"]


class LoopbackOnly(httpcore.NetworkBackend):
    """Record every TCP connect; open loopback ones, refuse the rest (no traffic leaves)."""

    def __init__(self) -> None:
        self.inner = httpcore.SyncBackend()
        self.connects: list[tuple[str, int]] = []

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.connects.append((host, port))
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise httpcore.ConnectError(f"test refuses to connect to {host}")
        return self.inner.connect_tcp(host, port, *args, **kwargs)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def test_dns_rebinding_cannot_redirect_a_delivery_to_loopback(
    store: RedisStore, settings: Settings, httpserver: HTTPServer
) -> None:
    _, seen = receiver(httpserver, ok)
    url = f"http://localhost:{httpserver.port}/hook"  # the system resolves it to loopback
    checked = Rebinding()
    delivery.create_channel(
        store, settings, {"name": "hook", "url": url}, resolver=lambda *_: [PUBLIC]
    )
    event_id = _queued_event(store)
    socket_layer = LoopbackOnly()

    attempt = delivery.deliver(store, settings, "hook", event_id, Network(checked, socket_layer))

    assert socket_layer.connects == [(PUBLIC, httpserver.port)]  # the checked address
    assert seen == []  # the loopback service behind the rebound name got nothing
    assert attempt.status == "retry"
    assert not settings.webhook_allow_private


def test_proxy_variables_cannot_route_a_delivery_around_the_guard(
    store: RedisStore, loopback_settings: Settings, httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    proxy = HTTPServer(host="127.0.0.1", port=0)
    proxy.expect_request("").respond_with_data("proxied")
    proxy.start()
    try:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        url, seen = receiver(httpserver, ok)
        channel(store, loopback_settings, url)
        event_id = _queued_event(store)

        attempt = delivery.deliver(store, loopback_settings, "hook", event_id)

        assert attempt.status == "delivered"
        assert len(seen) == 1
        assert proxy.log == []
    finally:
        proxy.clear()
        proxy.stop()


def _queued_event(store: RedisStore) -> str:
    event = {"event_id": "evt_rebind", "type": "alert", "created_at": time.time(),
             "signal": {"id": "AAPL:1m:1:alert:dip", "symbol": "AAPL", "timeframe": "1m",
                        "timestamp": "2024-06-01T00:00:00Z", "time": 1, "strategy": "alert:dip",
                        "signal_type": "ALERT", "side": "alert", "confidence": 1.0,
                        "price": 1.0, "reason": "r", "values": {}, "rule": "dip"}}  # fmt: skip
    store.client.hset("wh:outbox", event["event_id"], json.dumps(event))
    assert delivery.drain_outbox(store, lambda *_: None) == 1
    return str(event["event_id"])


SECRET_PATH = "/hook/SECRETPATHTOKEN123"


def test_worker_log_hides_webhook_paths_and_receivers_verify_standard_signatures(
    producer: Celery, start_worker: Any, loopback_settings: Settings, store: RedisStore,
    httpserver: HTTPServer,
) -> None:  # fmt: skip
    seen: list[Request] = []

    def record(request: Request) -> Response:
        request.get_data()
        seen.append(request)
        return Response("ok", 200)

    httpserver.expect_request(SECRET_PATH, method="POST").respond_with_handler(record)
    secret = channel(store, loopback_settings, httpserver.url_for(SECRET_PATH))
    worker = start_worker(**RECEIVER_ENV, LOG_LEVEL="debug")
    event_id = inject(store, producer)
    wait_for(status_is(store, event_id, "delivered"), 30, "the delivery")

    log = worker.output()
    assert "SECRETPATHTOKEN123" not in log
    assert f":{httpserver.port}/***" in log  # httpx's request line, path redacted
    body, headers = seen[0].get_data(), dict(seen[0].headers)
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    assert headers["Webhook-Id"] == event_id


@pytest.mark.parametrize(
    ("line", "shown"),
    [('HTTP Request: POST http://10.0.0.5:8080/hook/SECRETPATHTOKEN123 "HTTP/1.1 200 OK"',
      "http://10.0.0.5:8080/***"),
     ("https://discord.com/api/webhooks/1/SECRETPATHTOKEN123?wait=true", "https://discord.com/***"),
     ('{"url":"https://hooks.slack.com/services/T0/B0/SECRETPATHTOKEN123"}',
      "https://hooks.slack.com/***")],
)  # fmt: skip
def test_every_log_line_shows_urls_without_path_or_query(line: str, shown: str) -> None:
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(logs.RedactingFilter())
    handler.setFormatter(logs.JsonFormatter())
    third_party = logging.getLogger("httpx.test")
    third_party.addHandler(handler)
    try:
        third_party.warning("%s", line)
    finally:
        third_party.removeHandler(handler)
    written = handler.stream.getvalue()
    assert "SECRETPATHTOKEN123" not in written
    assert shown in written


def test_a_pinned_delivery_keeps_the_urls_host_header(httpserver: HTTPServer) -> None:
    _, seen = receiver(httpserver, ok)
    url = f"http://hooks.example.test:{httpserver.port}/hook"  # a name no resolver knows

    with transport.client("127.0.0.1", 5) as http:
        answer = http.post(url, content=b"{}")

    assert answer.status_code == 200
    assert seen[0].headers["Host"] == f"hooks.example.test:{httpserver.port}"


def test_a_pinned_tls_delivery_sends_the_urls_name_as_sni(tmp_path: Path) -> None:
    cert, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=other.test", "-keyout", str(key_file), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key_file)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment]
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    port = server.getsockname()[1]

    def accept_one() -> None:
        conn, _ = server.accept()
        with contextlib.suppress(ssl.SSLError, OSError):
            context.wrap_socket(conn, server_side=True).close()
        conn.close()

    acceptor = threading.Thread(target=accept_one, daemon=True)
    acceptor.start()
    with transport.client("127.0.0.1", 5) as http, pytest.raises(httpx.ConnectError):
        http.post(f"https://hooks.example.test:{port}/hook", content=b"{}")  # untrusted cert
    acceptor.join(10)
    server.close()

    assert names == ["hooks.example.test"]
