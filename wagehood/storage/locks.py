"""A short Redis lock that expires by itself: redis-py's ``Lock`` (atomic, token-checked release)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import redis

from wagehood.storage.redis_store import RedisStore, translate_errors


@contextlib.contextmanager
def try_lock(store: RedisStore, name: str, seconds: float) -> Iterator[bool]:
    """Hold lock ``name`` for at most ``seconds`` if it is free; yield whether it was taken.

    The release is one atomic compare-and-delete (redis-py runs a Lua script), so a lock that
    expired and was taken by another process meanwhile is never deleted by this one.
    """
    lock = store.client.lock(name, timeout=seconds, blocking=False)
    with translate_errors():
        acquired = bool(lock.acquire())
    try:
        yield acquired
    finally:
        if acquired:
            with translate_errors(), contextlib.suppress(redis.exceptions.LockNotOwnedError):
                lock.release()
