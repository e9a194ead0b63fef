"""Isolation: webhook receivers that never answer do not slow the real-time pipeline.

Issue 16 finding 6 reproduced against the Procfile's real processes: ten channels point at a
loopback tarpit (it accepts connections and never answers), many events are queued for them,
and the watched symbols' data must stay as fresh as before. Deliveries run on the ``io``
worker's threads (their own queue), never on the pipeline's worker.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.tarpit import Tarpit, flood_outbox
from tests.ops.system import System
from tests.processes import wait_for
from wagehood.service import delivery

pytestmark = pytest.mark.alone  # measures the pipeline's data age while deliveries hang

SYMBOLS = [f"T{i:02d}" for i in range(10)]
CHANNELS = 10
EVENTS = 40
WINDOW = 20.0


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


def test_pipeline_stays_fresh_while_every_webhook_channel_times_out(
    tarpitted: System, tarpit: Tarpit
) -> None:
    system = tarpitted
    before = _ages(system, 10)
    for n in range(CHANNELS):
        data = {"name": f"pit{n}", "url": f"http://127.0.0.1:{tarpit.port}/hook/{n}"}
        delivery.create_channel(system.store, system.settings, data)
    flood_outbox(system.store, system.redis.url, EVENTS, SYMBOLS[0])
    threads = system.settings.io_worker_threads
    wait_for(lambda: len(tarpit.held) >= threads, 60, "the io worker's threads to be tarpitted")

    during = _ages(system, WINDOW)

    # The attack made ages climb by a delivery timeout per stalled process (57 s in the
    # report); on a shared, loaded machine a lone sample may lag a few seconds.
    assert statistics.median(during) <= statistics.median(before) + 1.0, (before, during)
    assert max(during) < 10, during
    assert len(tarpit.held) >= threads  # every delivery thread was held the whole time
    sending = [r for n in range(CHANNELS) for r in delivery.delivery_log(system.store, f"pit{n}")]
    # Warm symbols may also signal for real meanwhile; every flooded event is on every channel.
    flooded = [r for r in sending if "alert:dip" in r["summary"]]
    assert len(flooded) == CHANNELS * EVENTS
    assert not any(r["status"] == "delivered" for r in sending)
