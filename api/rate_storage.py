"""flask-limiter's Redis storage, one round trip per limited request.

The stock Redis storage of ``limits`` costs three round trips per request with headers on:
the fixed window's ``INCRBY`` (a script), then ``GET`` and ``TTL`` for the ``X-RateLimit-*``
headers. ``OneTripRedisStorage`` answers all three from one script, which also returns the
API keys' revision (``wh:apikeys:revision``, bumped by every revocation): the key cache
(``api/key_cache.py``) compares it with the revision its entry was verified at, so a revoked
key is refused on its next request without a round trip of its own.

The counts and the expiry it reports for headers are those of this thread's last hit of the
same limit (within ``MEMO_SECONDS``); anything else reads Redis as the stock storage does.
The counters, keys and window semantics are the stock fixed window's, so limits stay shared
by every web process. It registers the ``wagehood+redis`` (``+rediss``) storage schemes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from limits.storage import RedisStorage

from wagehood.storage import keys

SCHEME_PREFIX = "wagehood+"
MEMO_SECONDS = 1.0  # a hit's count and expiry answer header reads this long after it
HIT_SCRIPT = """
local amount = tonumber(ARGV[2])
local current = redis.call('INCRBY', KEYS[1], amount)
if current == amount then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {current, redis.call('TTL', KEYS[1]), tonumber(redis.call('GET', KEYS[2]) or '0')}
"""


@dataclass(frozen=True)
class _Hit:
    key: str
    count: int
    expires_at: float  # epoch seconds, as ``get_expiry`` reports it
    at: float  # monotonic time of the hit


def storage_uri(redis_url: str) -> str:
    """Return the flask-limiter storage URI of this storage for ``redis_url``."""
    return SCHEME_PREFIX + redis_url


class OneTripRedisStorage(RedisStorage):
    """The fixed-window Redis storage, its hit, headers and key revision in one round trip."""

    STORAGE_SCHEME = [SCHEME_PREFIX + scheme for scheme in ("redis", "rediss", "redis+unix")]

    def __init__(self, uri: str, **options: Any) -> None:
        """Connect to the Redis of ``uri`` (``wagehood+redis://...``)."""
        super().__init__(uri.removeprefix(SCHEME_PREFIX), **options)
        self._local = threading.local()

    def initialize_storage(self, uri: str) -> None:
        """Register the stock scripts and the one-trip hit script."""
        super().initialize_storage(uri)
        self._hit = self.get_connection().register_script(HIT_SCRIPT.encode())

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count ``amount`` hits of ``key``; remember the count, expiry and key revision."""
        name = self.prefixed_key(key)
        count, ttl, revision = self._hit([name, keys.API_KEYS_REVISION], [expiry, amount])
        now = time.monotonic()
        self._local.hit = _Hit(name, int(count), max(int(ttl), 0) + time.time(), now)
        self._local.revision = int(revision)
        return int(count)

    def get(self, key: str) -> int:
        """Return the count of ``key`` (this thread's last hit of it, if recent)."""
        hit = self._recent(self.prefixed_key(key))
        return hit.count if hit else int(super().get(key))

    def get_expiry(self, key: str) -> float:
        """Return when ``key``'s window ends (this thread's last hit of it, if recent)."""
        hit = self._recent(self.prefixed_key(key))
        return hit.expires_at if hit else float(super().get_expiry(key))

    def take_revision(self) -> int | None:
        """Return (and forget) the key revision this thread's last hit read, if any."""
        revision: int | None = getattr(self._local, "revision", None)
        self._local.revision = None
        return revision

    def _recent(self, name: str) -> _Hit | None:
        hit: _Hit | None = getattr(self._local, "hit", None)
        if hit is None or hit.key != name or time.monotonic() - hit.at > MEMO_SECONDS:
            return None
        return hit
