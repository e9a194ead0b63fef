"""Verified API keys, remembered per web process for about a second.

Verifying a key reads its record from Redis; without a cache that is one round trip on every
request. An entry remembers the principal and the keys' revision read *before* the record
(``wh:apikeys:revision``, which every revocation bumps atomically with the record). Each
limited request's rate-limit round trip returns the current revision
(``api/rate_storage.py``); a cached entry older than it is verified again from Redis, so a
revoked key is refused on its very next request, whichever web process serves it. Entries
expire after ``KEY_CACHE_SECONDS`` even without a revocation. Only keys are cached (tokens
are verified as before); entries are keyed by the key's SHA-256, never the key itself.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from wagehood.service.auth import Principal

KEY_CACHE_SECONDS = 1.0
MAX_ENTRIES = 10_000  # beyond this many keys at once, the cache starts afresh


@dataclass(frozen=True)
class CachedKey:
    """A principal verified from Redis, with the keys' revision read before its record."""

    principal: Principal
    revision: int
    expires: float  # monotonic time


class KeyCache:
    """Principals of recently verified keys, by the key's digest."""

    def __init__(
        self, seconds: float = KEY_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Create an empty cache whose entries live ``seconds``."""
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[bytes, CachedKey] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedKey | None:
        """Return the unexpired entry of ``key``, if any."""
        entry = self._entries.get(_digest(key))
        return entry if entry is not None and entry.expires > self.clock() else None

    def put(self, key: str, principal: Principal, revision: int) -> None:
        """Remember ``principal``, verified for ``key`` at ``revision``."""
        entry = CachedKey(principal, revision, self.clock() + self.seconds)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[_digest(key)] = entry

    def forget(self, key: str) -> None:
        """Drop ``key``'s entry (it is verified from Redis next time)."""
        with self._lock:
            self._entries.pop(_digest(key), None)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
