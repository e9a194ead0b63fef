"""Webhook isolation: the pipeline's tick->state latency while every webhook channel times out.

Two runs of the Procfile's worker, io worker and beat on 100 mock symbols: one without
channels, one with ten channels pointing at a loopback tarpit (it accepts and never answers)
and hundreds of deliveries queued for them, every io thread held for ``WEBHOOK_TIMEOUT``.
The pipeline's figures must agree within noise (issue 16, finding 6).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.cluster import Cluster
from bench.pipeline import _freshness, _latencies, _ms, _quantiles, symbols
from bench.tarpit import Tarpit, flood_outbox
from wagehood.service import delivery, watchlist
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore

SYMBOLS = 100
CHANNELS = 10
EVENTS = 40
ENV = {"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_TIMEOUT": "30"}  # the tarpit is on loopback


def measure(channels: int, window: float) -> dict[str, Any]:
    """Run the pipeline for ``window`` seconds with ``channels`` tarpitted channels."""
    with Cluster(ENV) as c, Tarpit() as pit:
        store = RedisStore.from_url(c.url)
        names = symbols(SYMBOLS)
        watchlist.replace_all(store, [(s, "mock") for s in names])
        c.start("worker")
        c.start("io")
        c.wait_workers(2)
        settings = Settings.from_env(ENV)
        for n in range(channels):
            data = {"name": f"pit{n}", "url": f"http://127.0.0.1:{pit.port}/hook/{n}"}
            delivery.create_channel(store, settings, data)
        c.start("beat")
        if channels:
            flood_outbox(store, c.url, EVENTS, names[0])
            _wait(
                lambda: (
                    len(pit.held) >= settings.io_worker_threads and not c.client.hlen(keys.OUTBOX)
                )
            )
        _wait(lambda: max(_freshness(c, names)) < 2.0, 90)  # every symbol updated
        time.sleep(3.0)  # warm-up
        start = time.time()
        c.client.delete(keys.LATENCY)
        fresh: list[float] = []
        while time.time() < start + window:
            fresh.append(max(_freshness(c, names)))
            time.sleep(0.5)
        return {
            "channels": channels,
            "connections_held": len(pit.held),
            "tick_to_state_ms": _quantiles(_latencies(c, keys.LATENCY, start)),
            "oldest_symbol_age_s": _quantiles(fresh),
        }


def _wait(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {timeout} s (the tarpit, or the first ticks)")
        time.sleep(0.2)


def run(quick: bool) -> dict[str, Any]:
    """Measure without channels, then with every channel timing out (twice each, alternating)."""
    window = 6.0 if quick else 20.0
    plan = (0, CHANNELS) if quick else (0, CHANNELS, 0, CHANNELS)
    runs = [measure(channels, window) for channels in plan]
    rows = [
        [
            "no webhook channels" if r["channels"] == 0 else f"{CHANNELS} channels, all timing out",
            r["connections_held"],
            _ms(r["tick_to_state_ms"]["p50"]),
            _ms(r["tick_to_state_ms"]["p99"]),
            r["oldest_symbol_age_s"]["p99"],
        ]
        for r in runs
    ]
    return {
        "title": "Webhook isolation: pipeline latency while every channel times out",
        "settings": {
            "processes": "Procfile worker (prefork) + io (threads) + beat",
            "symbols": SYMBOLS,
            "interval_s": 1,
            "window_s": window,
            "webhook_timeout_s": 30,
            "events_queued": EVENTS * CHANNELS,
        },
        "columns": [
            "run",
            "tarpit connections held",
            "tick->state p50 ms",
            "tick->state p99 ms",
            "oldest symbol age p99 s",
        ],
        "rows": rows,
        "runs": runs,
        "notes": [
            "Runs alternate (none, tarpitted, none, tarpitted) so that the machine's own noise "
            "shows between runs of the same kind. The tarpitted runs start once every io "
            "thread is held and the outbox is drained.",
            "Deliveries run on the io worker's own queue and threads; before that change ten "
            "tarpitted channels raised every symbol's data age from about 2 s to 57 s.",
        ],
    }
