"""The REST read path (issue 18, part 4): cached keys, a one-trip rate limit, the live view.

Two apps on the same Redis stand for two web processes. Updates come from the real pipeline
(``process_quotes``), whose commits append the frames the hub's reader follows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from api import create_app
from api.live_view import VIEW_MAX_AGE, LiveView
from tests.factories import START, context, mock_quotes
from tests.processes import wait_for
from wagehood.service import auth
from wagehood.service.pipeline import process_quotes
from wagehood.settings import Settings
from wagehood.storage import keys as redis_keys
from wagehood.storage.redis_store import RedisStore

LATEST = "/api/v1/realtime/data/latest/"
INDICATORS = "/api/v1/realtime/indicators/"
WAGEHOOD = str(Path(sys.executable).parent / "wagehood")


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _view(app: Flask) -> LiveView:
    view: LiveView = app.extensions["wagehood"].hub.view
    return view


def _calls(client: redis_lib.Redis) -> dict[str, int]:
    stats: dict[str, Any] = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


def _redis_answer(settings: Settings, url: str, key: str) -> bytes:
    # A new app has an empty view: its first answer is read from Redis.
    answer = create_app(settings).test_client().get(url, headers=_bearer(key))
    assert answer.status_code == 200
    return answer.data


def _update(store: RedisStore, settings: Settings, symbol: str, after: int) -> None:
    ctx = context(store, settings)
    for quotes in mock_quotes([symbol], START + after, 60, step=30):
        process_quotes(ctx, quotes)


@pytest.fixture
def reader(store: RedisStore) -> auth.NewKey:
    return auth.create_key(store, "reader", "read")


def test_a_cached_key_is_refused_right_after_its_revocation_through_the_api(
    app: Flask, client: FlaskClient, keys: Any, reader: auth.NewKey, seeded: str
) -> None:
    for _ in range(2):
        assert client.get(LATEST + seeded, headers=_bearer(reader.key)).status_code == 200
    assert app.extensions["wagehood"].key_cache.get(reader.key) is not None
    url = f"/api/v1/auth/keys/{reader.principal.key_id}"
    assert client.delete(url, headers=keys.header("admin")).status_code == 200
    refused = client.get(LATEST + seeded, headers=_bearer(reader.key))
    assert refused.status_code == 401
    assert refused.get_json()["error"]["message"] == "API key revoked"


def test_a_key_revoked_by_the_cli_is_refused_at_once_by_every_web_process(
    settings: Settings, reader: auth.NewKey, seeded: str, tmp_path: Path
) -> None:
    clients = [create_app(settings).test_client() for _ in range(2)]
    for client in clients:
        for _ in range(2):
            assert client.get(LATEST + seeded, headers=_bearer(reader.key)).status_code == 200
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    env |= {"REDIS_URL": settings.redis_url, "WAGEHOOD_DATA_DIR": settings.data_dir}
    command = [WAGEHOOD, "admin", "keys", "revoke", reader.principal.key_id]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)
    for client in clients:
        for url in (LATEST + seeded, INDICATORS + seeded):
            assert client.get(url, headers=_bearer(reader.key)).status_code == 401


def test_a_cached_key_and_a_kept_answer_cost_one_round_trip_and_no_read(
    client: FlaskClient, reader: auth.NewKey, seeded: str, raw_redis: redis_lib.Redis
) -> None:
    for url in (LATEST + seeded, INDICATORS + seeded):
        assert client.get(url, headers=_bearer(reader.key)).status_code == 200
    before = _calls(raw_redis)
    for _ in range(10):
        for url in (LATEST + seeded, INDICATORS + seeded):
            assert client.get(url, headers=_bearer(reader.key)).status_code == 200
    after = _calls(raw_redis)
    spent = {name: calls - before.get(name, 0) for name, calls in after.items()}
    # One script per request (the rate limit: count, expiry and key revision; Redis counts
    # the commands it runs too), and no read of a key record or of the symbol's state.
    ran = ("evalsha", "incrby", "ttl", "get", "hget", "hgetall", "exists")
    assert {name: spent.get(name, 0) for name in ran} == dict.fromkeys(ran[:4], 20) | dict.fromkeys(
        ran[4:], 0
    )


def test_the_rate_limit_is_shared_by_web_processes_with_retry_after(
    settings: Settings, store: RedisStore, seeded: str
) -> None:
    key = auth.create_key(store, "tight", "read", rate_limit="3/minute").key
    first, second = (create_app(settings).test_client() for _ in range(2))
    answers = [c.get(LATEST + seeded, headers=_bearer(key)) for c in (first, second, first, second)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 61
    assert answers[-1].get_json()["error"]["type"] == "rate_limited"


@pytest.mark.parametrize(
    "path",
    [
        LATEST + "{seeded}",
        LATEST + "{seeded}?timeframe=5m",
        LATEST + "{fresh}",
        INDICATORS + "{seeded}?timeframe=1m",
        INDICATORS + "{seeded}?timeframe=1h",
        INDICATORS + "{fresh}",
    ],
)
def test_the_view_answers_byte_for_byte_as_redis_does(
    app: Flask,
    client: FlaskClient,
    settings: Settings,
    reader: auth.NewKey,
    seeded: str,
    fresh: str,
    path: str,
) -> None:
    url = path.format(seeded=seeded, fresh=fresh)
    first = client.get(url, headers=_bearer(reader.key))
    assert first.status_code == 200
    assert _view(app).answers, "the answer was kept"
    served = client.get(url, headers=_bearer(reader.key))
    assert served.data == _redis_answer(settings, url, reader.key) == first.data
    assert served.headers["Content-Type"] == first.headers["Content-Type"] == "application/json"


def test_a_committed_update_is_served_as_soon_as_its_frame_is_read(
    app: Flask,
    client: FlaskClient,
    settings: Settings,
    store: RedisStore,
    reader: auth.NewKey,
    seeded: str,
) -> None:
    urls = [LATEST + seeded, INDICATORS + seeded + "?timeframe=1m"]
    kept = [client.get(url, headers=_bearer(reader.key)).data for url in urls]
    frames = _view(app).frames.get(seeded, 0)
    _update(store, settings, seeded, after=3 * 3600)
    wait_for(lambda: _view(app).frames.get(seeded, 0) > frames, 30, "the reader to see the frame")
    for url, old in zip(urls, kept, strict=True):
        now = client.get(url, headers=_bearer(reader.key)).data
        assert now != old
        assert now == _redis_answer(settings, url, reader.key)


def _view_reads(client: FlaskClient, route: str) -> tuple[float, float]:
    families = text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))
    counts = {
        f.name: s.value
        for f in families
        if f.name in ("wagehood_read_view_hits", "wagehood_read_view_misses")
        for s in f.samples
        if s.name.endswith("_total") and s.labels["route"] == route
    }
    return counts.get("wagehood_read_view_hits", 0), counts.get("wagehood_read_view_misses", 0)


def test_metrics_count_the_answers_served_from_the_view_and_those_read_from_redis(
    app: Flask,
    client: FlaskClient,
    settings: Settings,
    store: RedisStore,
    reader: auth.NewKey,
    seeded: str,
) -> None:
    url = LATEST + seeded
    hits, misses = _view_reads(client, "data.latest")
    for _ in range(3):
        assert client.get(url, headers=_bearer(reader.key)).status_code == 200
    assert _view_reads(client, "data.latest") == (hits + 2, misses + 1)
    frames = _view(app).frames.get(seeded, 0)
    _update(store, settings, seeded, after=3 * 3600)
    wait_for(lambda: _view(app).frames.get(seeded, 0) > frames, 30, "the reader to see the frame")
    assert client.get(url, headers=_bearer(reader.key)).status_code == 200
    assert _view_reads(client, "data.latest") == (hits + 2, misses + 2)


def test_a_change_without_a_frame_is_served_within_the_view_max_age(
    client: FlaskClient, reader: auth.NewKey, seeded: str, raw_redis: redis_lib.Redis
) -> None:
    assert client.get(LATEST + seeded, headers=_bearer(reader.key)).status_code == 200
    raw_redis.hset(redis_keys.sync(seeded), mapping={"state": "warming", "reason": "gap"})

    def shows_sync() -> bool:
        body = client.get(LATEST + seeded, headers=_bearer(reader.key)).get_json()
        return bool(body["sync"]["state"] == "warming")

    wait_for(shows_sync, 30, "the sync state without a frame (view max age)")


def test_without_a_reader_following_the_stream_every_answer_is_read_from_redis(
    app: Flask, client: FlaskClient, reader: auth.NewKey, seeded: str, raw_redis: redis_lib.Redis
) -> None:
    view = _view(app)
    assert client.get(LATEST + seeded, headers=_bearer(reader.key)).status_code == 200
    view.lost()  # what the reader does when Redis fails it: nothing kept is trusted
    raw_redis.hset(redis_keys.live(seeded), "price", "123.5")
    answer = client.get(LATEST + seeded, headers=_bearer(reader.key)).get_json()
    assert answer["price"] == 123.5


def test_an_answer_read_before_a_frame_of_its_symbol_is_never_kept() -> None:
    now = [100.0]
    view = LiveView(block_seconds=1.0, clock=lambda: now[0])
    view.read_done()
    key = ("data.latest", "AAPL", b"")
    token = view.token("AAPL")
    view.saw("AAPL")  # the frame of a commit the answer may predate
    view.keep(key, token, b"old", "application/json")
    assert view.lookup(key) is None
    view.keep(key, view.token("AAPL"), b"new", "application/json")
    view.saw("MSFT")
    kept = view.lookup(key)
    assert kept is not None
    assert kept.body == b"new"
    view.saw("AAPL")
    assert view.lookup(key) is None


def test_a_kept_answer_expires_with_the_view_max_age_or_when_the_reader_lags() -> None:
    now = [100.0]
    view = LiveView(block_seconds=1.0, clock=lambda: now[0])
    view.read_done()
    key = ("indicators.indicators", "AAPL", b"timeframe=1m")
    view.keep(key, view.token("AAPL"), b"{}", "application/json")
    now[0] += VIEW_MAX_AGE - 0.01
    assert view.lookup(key) is not None
    now[0] += 0.02
    assert view.lookup(key) is None
    view.read_done()
    view.keep(key, view.token("AAPL"), b"{}", "application/json")
    now[0] += 0.5
    view.read_at = now[0] - 2.5  # the reader's last read: more than block + slack ago
    assert not view.following()
    assert view.lookup(key) is None
