"""Event ids, channel secrets and the signatures every delivery carries.

Deliveries are signed the Standard Webhooks way (https://www.standardwebhooks.com/), so
receivers can verify them with the ``standardwebhooks`` package or any Svix library:
``webhook-id`` (the event id), ``webhook-timestamp`` (unix seconds of this attempt) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the
base64-decoded part of the channel's ``whsec_<base64>`` secret. Receivers reject timestamps
more than 5 minutes off, which ends replays of captured requests, and drop a repeated
``webhook-id`` (a retry or a redelivery after a crash sends the same event, same id, again).

For one release the previous headers are sent too: ``X-Wagehood-Signature: sha256=<hex>``
(HMAC-SHA256 of the body with the whole secret string, no timestamp) and
``X-Wagehood-Event-Id``. Secrets made before Standard Webhooks were not standard base64; their
key is the whole secret string's bytes (create the channel again for a standard secret).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Wagehood-Signature"
EVENT_HEADER = "X-Wagehood-Event-Id"
ATTEMPT_HEADER = "X-Wagehood-Attempt"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix naming the kind of value, not a secret
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"


def event_id(signal_id: str) -> str:
    """Return the stable event id of a signal or alert (same input, same id, on any host)."""
    return "evt_" + hashlib.sha256(signal_id.encode()).hexdigest()[:32]


def new_secret() -> str:
    """Return a fresh channel secret ``whsec_<base64 of 32 random bytes>`` (shown once)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_key(secret: str) -> bytes:
    """Return the HMAC key of a ``whsec_<base64>`` secret (legacy secrets: their bytes)."""
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        return secret.encode()


def sign_standard(secret: str, event: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` value: ``v1,<base64 HMAC of id.timestamp.body>``."""
    content = f"{event}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign(secret: str, body: bytes) -> str:
    """Return the signature header value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str) -> bool:
    """Return whether ``header`` is the valid signature of ``body`` (constant-time compare)."""
    return hmac.compare_digest(sign(secret, body), header or "")


def headers(secret: str, body: bytes, event: str, attempt: int, timestamp: int) -> dict[str, str]:
    """Return the headers of one delivery attempt made at ``timestamp`` (unix seconds)."""
    return {
        "Content-Type": "application/json",
        ID_HEADER: event,
        TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: sign_standard(secret, event, timestamp, body),
        EVENT_HEADER: event,
        "Idempotency-Key": event,
        ATTEMPT_HEADER: str(attempt),
        SIGNATURE_HEADER: sign(secret, body),
    }
