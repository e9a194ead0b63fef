"""Isolation: webhook receivers that never answer do not slow the real-time pipeline.

Issue 16 finding 6 reproduced against the Procfile's real processes: ten channels point at a
loopback tarpit (it accepts connections and never answers), many events are queued for them,
and the watched symbols' data must stay as fresh as before. Deliveries run on the ``io``
worker's threads (their own queue), never on the pipeline's worker.
"""

from __future__ import annotations

import json
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from tests.ops.system import System
from tests.processes import wait_for
from wagehood.service import alert_rules, delivery
from wagehood.storage import keys

SYMBOLS = [f"T{i:02d}" for i in range(10)]
CHANNELS = 10
EVENTS = 40
WINDOW = 20.0


class Tarpit:
    """A loopback TCP server that accepts every connection and never answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set() and len(self.held) < 2000:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.held.append(conn)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        for conn in [*self.held, self.server]:
            conn.close()


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    pit = Tarpit()
    yield pit
    pit.close()


@pytest.fixture
def tarpitted(tmp_path: Path) -> Iterator[System]:
    system = System(
        tmp_path,
        SYMBOLS,
        WEBHOOK_ALLOW_PRIVATE="true",  # the tarpit listens on loopback
        WEBHOOK_TIMEOUT="30",  # one delivery on a pipeline process would stall it 30 s
        WEBHOOK_RETRY_BACKOFF="0.5",
        CALCULATION_WORKERS="2",
    )
    try:
        system.start()
        system.wait_fresh(90)
        yield system
    finally:
        system.stop()


def _ages(system: System, seconds: float) -> list[float]:
    """Sample the oldest symbol's data age every 0.5 s for ``seconds``; return the samples."""
    samples, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        now = time.time()
        stamps = [system.store.client.hget(f"wh:{{{s}}}:live", "time") for s in SYMBOLS]
        samples.append(max(now - float(t) if t else float("inf") for t in stamps))
        time.sleep(0.5)
    return samples


def _queue_events(system: System, count: int) -> None:
    for n in range(count):
        record = {"id": f"T00:1m:{n}:alert:dip", "symbol": "T00", "timeframe": "1m",
                  "timestamp": "2024-06-01T00:00:00Z", "time": 1_717_200_000 + n * 60,
                  "strategy": "alert:dip", "signal_type": "ALERT", "side": "alert",
                  "confidence": 1.0, "price": 187.0, "reason": "rsi_14 < 30",
                  "values": {"rsi_14": 28.0}, "rule": "dip"}  # fmt: skip
        event = alert_rules.build_event(record, "alert", time.time())
        system.store.client.hset(keys.OUTBOX, event["event_id"], json.dumps(event))
    producer = Celery("test-producer", broker=system.redis.url)
    producer.conf.update(task_serializer="json", accept_content=["json"])
    producer.send_task("wagehood.drain_outbox")
    producer.close()


def test_pipeline_stays_fresh_while_every_webhook_channel_times_out(
    tarpitted: System, tarpit: Tarpit
) -> None:
    system = tarpitted
    before = _ages(system, 10)
    for n in range(CHANNELS):
        data = {"name": f"pit{n}", "url": f"http://127.0.0.1:{tarpit.port}/hook/{n}"}
        delivery.create_channel(system.store, system.settings, data)
    _queue_events(system, EVENTS)
    threads = system.settings.io_worker_threads
    wait_for(lambda: len(tarpit.held) >= threads, 60, "the io worker's threads to be tarpitted")

    during = _ages(system, WINDOW)

    # The attack made ages climb by a delivery timeout per stalled process (57 s in the
    # report); on a shared, loaded machine a lone sample may lag a few seconds.
    assert statistics.median(during) <= statistics.median(before) + 1.0, (before, during)
    assert max(during) < 10, during
    assert len(tarpit.held) >= threads  # every delivery thread was held the whole time
    sending = [r for n in range(CHANNELS) for r in delivery.delivery_log(system.store, f"pit{n}")]
    assert len(sending) == CHANNELS * EVENTS
    assert not any(r["status"] == "delivered" for r in sending)
