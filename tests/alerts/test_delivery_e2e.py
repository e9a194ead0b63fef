"""Delivery on real Celery workers to a local receiver (pytest-httpserver on loopback).

The operator flag WEBHOOK_ALLOW_PRIVATE is on in these tests only because the receiver
listens on 127.0.0.1; the API tests check that such URLs are refused without it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from celery import Celery, chain
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.alerts.conftest import RECEIVER_ENV
from tests.alerts.test_rules import fired_times
from tests.factories import START, stored_snapshots
from tests.processes import wait_for
from wagehood.alerts import signing
from wagehood.service import alert_rules, delivery
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Timeframe

Handler = Callable[[Request], Response]


def receiver(httpserver: HTTPServer, handler: Handler) -> tuple[str, list[Request]]:
    """Serve ``handler`` at /hook; return its URL and the requests it got (in order)."""
    seen: list[Request] = []

    def record(request: Request) -> Response:
        request.get_data()  # keep the body after the response
        seen.append(request)
        return handler(request)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(record)
    return httpserver.url_for("/hook"), seen


def ok(_: Request) -> Response:
    return Response("ok", 200)


def channel(store: RedisStore, settings: Settings, url: str, **filters: Any) -> str:
    _, secret = delivery.create_channel(store, settings, {"name": "hook", "url": url, **filters})
    return secret


def inject(store: RedisStore, producer: Celery) -> str:
    """Commit-free shortcut for one alert event: an outbox entry, then a drain on the worker."""
    record = {"id": f"AAPL:1m:{START}:alert:dip", "symbol": "AAPL", "timeframe": "1m",
              "timestamp": "2024-06-01T00:00:00Z", "time": START, "strategy": "alert:dip",
              "signal_type": "ALERT", "side": "alert", "confidence": 1.0, "price": 187.0,
              "reason": "rsi_14 < 30", "values": {"rsi_14": 28.0}, "rule": "dip"}  # fmt: skip
    event = alert_rules.build_event(record, "alert", time.time())
    store.client.hset(keys.OUTBOX, event["event_id"], json.dumps(event))
    producer.send_task("wagehood.drain_outbox")
    return str(event["event_id"])


def record_of(store: RedisStore, event_id: str) -> dict[str, Any]:
    return next((r for r in delivery.delivery_log(store, "hook") if r["event_id"] == event_id), {})


def status_is(store: RedisStore, event_id: str, status: str) -> Callable[[], bool]:
    return lambda: record_of(store, event_id).get("status") == status


def valid(request: Request, secret: str) -> bool:
    header = request.headers[signing.SIGNATURE_HEADER]
    return signing.verify(secret, request.get_data(), header)


def send_ticks(producer: Celery, seconds: int, step: int) -> float:
    last = 0.0
    for tick in range(START, START + seconds, step):
        last = float(tick)
        chain(
            producer.signature("wagehood.fetch_quotes", args=("mock", ["AAPL"], last)),
            producer.signature("wagehood.compute_indicators"),
            producer.signature("wagehood.evaluate_strategies"),
        ).apply_async()
    return last


def test_rule_fires_once_per_crossing_and_receiver_sees_valid_signatures(
    producer: Celery, start_worker: Any, loopback_settings: Settings, store: RedisStore,
    httpserver: HTTPServer,
) -> None:  # fmt: skip
    url, seen = receiver(httpserver, ok)
    secret = channel(store, loopback_settings, url, events=["alerts"], format="discord")
    condition = "ema_12 crosses_above ema_26"
    alert_rules.create_rule(store, loopback_settings, {"name": "golden", "condition": condition})
    start_worker(**RECEIVER_ENV)
    last = send_ticks(producer, 2 * 3600, 30)
    state_key = keys.strategy_state("AAPL", Timeframe.M1)
    wait_for(lambda: int(store.client.hget(state_key, "last_eval") or 0) >= last - 120, 90, "eval")

    history = stored_snapshots(store, "AAPL", Timeframe.M1)
    expected = fired_times(alert_rules.get_rule(store, "golden"), history)
    ids = {signing.event_id(f"AAPL:1m:{t}:alert:golden") for t in expected}
    assert expected
    wait_for(lambda: len({r.headers[signing.EVENT_HEADER] for r in seen}) >= len(ids), 30, "posts")
    time.sleep(1)  # nothing more arrives
    assert sorted(r.headers[signing.EVENT_HEADER] for r in seen) == sorted(ids)
    assert all(valid(request, secret) for request in seen)
    assert json.loads(seen[0].get_data())["embeds"][0]["title"].startswith("AAPL 1m ALERT")


def test_fails_twice_then_succeeds_is_one_accepted_delivery_after_three_attempts(
    producer: Celery, start_worker: Any, loopback_settings: Settings, store: RedisStore,
    httpserver: HTTPServer,
) -> None:  # fmt: skip
    answers = [Response("slow down", 429, {"Retry-After": "1"}), Response("oops", 503)]
    url, seen = receiver(httpserver, lambda _: answers.pop(0) if answers else ok(_))
    secret = channel(store, loopback_settings, url)
    start_worker(**RECEIVER_ENV)
    event_id = inject(store, producer)
    wait_for(status_is(store, event_id, "delivered"), 30, "the delivery")

    record = record_of(store, event_id)
    assert (record["attempts"], record["status_code"]) == (3, 200)
    assert [r.headers[signing.ATTEMPT_HEADER] for r in seen] == ["1", "2", "3"]
    assert {r.headers[signing.EVENT_HEADER] for r in seen} == {event_id}
    assert all(valid(request, secret) for request in seen)
    assert len({r.get_data() for r in seen}) == 1  # the same body each time


def test_permanently_failing_receiver_dead_letters_the_delivery(
    producer: Celery, start_worker: Any, loopback_settings: Settings, store: RedisStore,
    httpserver: HTTPServer,
) -> None:  # fmt: skip
    url, seen = receiver(httpserver, lambda _: Response("down", 500))
    channel(store, loopback_settings, url)
    start_worker(**RECEIVER_ENV)
    event_id = inject(store, producer)
    wait_for(status_is(store, event_id, "dead"), 30, "the dead letter")

    assert len(seen) == 3
    dead = delivery.dead_letters(store)
    assert [(d["channel"], d["event_id"], d["error"]) for d in dead] == [
        ("hook", event_id, "HTTP 500")
    ]


def test_worker_killed_mid_delivery_still_delivers_with_the_same_event_id(
    producer: Celery, start_worker: Any, loopback_settings: Settings, store: RedisStore,
    httpserver: HTTPServer,
) -> None:  # fmt: skip
    arrived = threading.Event()

    def slow_first(request: Request) -> Response:
        if not arrived.is_set():
            arrived.set()
            time.sleep(2.5)
        return ok(request)

    url, seen = receiver(httpserver, slow_first)
    channel(store, loopback_settings, url)
    env = RECEIVER_ENV | {"BROKER_VISIBILITY_TIMEOUT": "10", "WEBHOOK_TIMEOUT": "2"}
    worker = start_worker(**env)
    event_id = inject(store, producer)
    assert arrived.wait(20)
    worker.kill()
    start_worker(**env)
    wait_for(status_is(store, event_id, "delivered"), 45, "the redelivered delivery")

    assert len(seen) >= 2
    assert {r.headers[signing.EVENT_HEADER] for r in seen} == {event_id}
