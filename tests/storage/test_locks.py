"""The short delivery lock: taken once, released atomically, never releases another's lock."""

from __future__ import annotations

from tests.processes import wait_for
from wagehood.settings import Settings
from wagehood.storage.locks import try_lock
from wagehood.storage.redis_store import RedisStore


def test_a_held_lock_is_refused_and_free_again_after_release(settings: Settings) -> None:
    store = RedisStore.from_url(settings.redis_url)
    with try_lock(store, "wh:test:lock", 30) as first:
        with try_lock(store, "wh:test:lock", 30) as second:
            assert (first, second) == (True, False)
        assert store.client.exists("wh:test:lock")  # the refused one released nothing
    assert not store.client.exists("wh:test:lock")


def test_an_expired_lock_taken_by_another_is_not_deleted_by_its_first_holder(
    settings: Settings,
) -> None:
    store = RedisStore.from_url(settings.redis_url)
    with try_lock(store, "wh:test:lock", 0.2) as first:
        assert first
        wait_for(lambda: not store.client.exists("wh:test:lock"), 10, "the lock to expire")
        store.client.set("wh:test:lock", "another holder's token")
    assert store.client.get("wh:test:lock") in (b"another holder's token", "another holder's token")
