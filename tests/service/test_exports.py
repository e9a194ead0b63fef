"""Export status records cannot grow forever: they expire and are capped in number."""

from __future__ import annotations

import time

import pytest

from tests.factories import START, context
from wagehood.errors import NotFoundError
from wagehood.service import exports, pipeline
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Bar, Timeframe


@pytest.fixture
def store(settings: Settings) -> RedisStore:
    store = RedisStore.from_url(settings.redis_url)
    bar = Bar("AAPL", Timeframe.M1, START, 1.0, 1.0, 1.0, 1.0, 1.0)
    pipeline.apply_bars(context(store, settings), "AAPL", Timeframe.M1, [bar])
    return store


def _create(store: RedisStore) -> str:
    return str(exports.create(store, exports.ExportRequest(("AAPL",)), "k1")["id"])


def test_status_records_past_their_ttl_are_dropped(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    monkeypatch.setattr(exports.time, "time", lambda: now - exports.RECORD_TTL - 60)
    old = _create(store)
    monkeypatch.setattr(exports.time, "time", lambda: now)
    assert exports.status(store, old)["status"] == "pending"

    new = _create(store)

    with pytest.raises(NotFoundError):
        exports.status(store, old)
    assert exports.status(store, new)["status"] == "pending"
    assert store.client.zrange(keys.EXPORTS_CREATED, 0, -1) == [new]


def test_status_records_are_capped_oldest_first(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "MAX_RECORDS", 3)
    made = [_create(store) for _ in range(5)]
    assert sorted(store.client.hkeys(keys.EXPORTS)) == sorted(made[2:])
    for export_id in made[2:]:
        assert exports.status(store, export_id)["id"] == export_id
