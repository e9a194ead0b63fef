"""Helpers for the HTTP provider tests: a handler slower than the timeout, a dead port."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SHORT_TIMEOUT = 0.2  # seconds; providers under test are built with it


def slow_handler(seconds: float = 2 * SHORT_TIMEOUT) -> Callable[[Request], Response]:
    """Return a handler that answers only after ``seconds``, beyond the short timeout."""

    def handle(request: Request) -> Response:
        time.sleep(seconds)
        return Response("{}", content_type="application/json")

    return handle


def closed_port_url() -> str:
    """Return a loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def wait_until_answered(server: HTTPServer, requests: int = 1, limit: float = 5.0) -> None:
    """Wait until ``server`` has answered ``requests`` requests (a slow handler is done).

    The test server handles one request at a time, so a test with a slow handler waits
    here before the next test's requests arrive.
    """
    deadline = time.monotonic() + limit
    while len(server.log) < requests and time.monotonic() < deadline:
        time.sleep(0.02)
