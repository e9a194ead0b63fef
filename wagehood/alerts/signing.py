"""Event ids, channel secrets and the HMAC-SHA256 signature every delivery carries.

Receivers verify ``X-Wagehood-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact request
body with the channel's secret, and drop a repeated ``X-Wagehood-Event-Id`` (a retry or a
redelivery after a crash sends the same event, with the same id and the same body, again).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Wagehood-Signature"
EVENT_HEADER = "X-Wagehood-Event-Id"
ATTEMPT_HEADER = "X-Wagehood-Attempt"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix naming the kind of value, not a secret


def event_id(signal_id: str) -> str:
    """Return the stable event id of a signal or alert (same input, same id, on any host)."""
    return "evt_" + hashlib.sha256(signal_id.encode()).hexdigest()[:32]


def new_secret() -> str:
    """Return a fresh channel secret (shown once at creation)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    """Return the signature header value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str) -> bool:
    """Return whether ``header`` is the valid signature of ``body`` (constant-time compare)."""
    return hmac.compare_digest(sign(secret, body), header or "")


def headers(secret: str, body: bytes, event: str, attempt: int) -> dict[str, str]:
    """Return the headers of one delivery attempt."""
    return {
        "Content-Type": "application/json",
        EVENT_HEADER: event,
        "Idempotency-Key": event,
        ATTEMPT_HEADER: str(attempt),
        SIGNATURE_HEADER: sign(secret, body),
    }
