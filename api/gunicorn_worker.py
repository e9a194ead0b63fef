"""gunicorn's threaded worker, answering its own request-line and header limits in our JSON.

gunicorn refuses a request line over ``limit_request_line`` (414) and too many or too large
headers (431) before the application sees the request, with an HTML page of its own. This
worker writes the documented ``{"error": {"type", "message"}}`` body instead; every other
server-layer error is gunicorn's as before.
"""

from __future__ import annotations

import json
from typing import Any

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

from api.errors import HTTP_TYPES

LIMITS = {
    LimitRequestLine: (414, "URI Too Long", "request line too long"),
    LimitRequestHeaders: (431, "Request Header Fields Too Large", "too many or too large headers"),
}


class JsonErrorWorker(ThreadWorker):  # type: ignore[misc]
    """``gthread`` with JSON bodies for 414 and 431."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Answer a request-line or header limit in JSON; leave the rest to gunicorn."""
        found = next((v for cls, v in LIMITS.items() if isinstance(exc, cls)), None)
        if found is None:
            super().handle_error(req, client, addr, exc)
            return
        status, reason, message = found
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, error_response(status, reason, message))
        except OSError:
            self.log.debug("Failed to send error message.")


def error_response(status: int, reason: str, message: str) -> bytes:
    """Return a whole HTTP/1.1 response carrying the API's JSON error body."""
    body = json.dumps({"error": {"type": HTTP_TYPES[status], "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body
