"""Exactly once, in order, under failure: killed workers, duplicates, overlaps, Redis restarts.

The short versions run in ``make test``; ``-m slow`` (or ``make test-long``) runs longer ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cli.redis_server import LocalRedis
from tests.factories import START, context, mock_quotes, offline, send_tick, stored_snapshots
from tests.processes import wait_for
from wagehood.bars import BarAggregator
from wagehood.csvio import read_bars
from wagehood.engine import replay
from wagehood.service import backfill
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Timeframe

LONG = bool(os.environ.get("WAGEHOOD_LONG"))
SYMBOLS = ["AAPL", "MSFT", "SPY", "TSLA"]
DATA = Path(__file__).resolve().parent.parent / "data"


def queues_drained(store: RedisStore) -> bool:
    client = store.client
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


def assert_state_equals_replay(
    store: RedisStore, settings: Settings, symbol: str, tf: Timeframe
) -> list:
    ctx = context(store, settings)
    live = stored_snapshots(store, symbol, tf)
    times = [s.bar.time for s in live]
    assert times == sorted(set(times)), "bars out of order or doubled"
    assert [s.values for s in live] == [s.values for s in offline(ctx, live)]
    engine = store.client.hgetall(keys.engine(symbol, tf))
    assert int(engine["bars_processed"]) == len(live)
    expected = [
        s.to_dict()
        for row in replay((s.bar for s in live), ctx.config.indicators, ctx.config.strategy_set)
        for s in row.signals
    ]
    wait_for(
        lambda: (
            store.client.hget(keys.strategy_state(symbol, tf), "last_eval")
            == engine["last_bar_time"]
        ),
        60,
        "strategies to catch up",
    )
    stored = [json.loads(f["data"]) for _, f in store.stream_range(keys.symbol_signals(symbol))]
    # A signal on a bar the warm-up applied from provider history is marked "historical" (it
    # is stored for the chart, never delivered); the replay cannot know which bars those were.
    found = [
        {k: v for k, v in s.items() if k != "historical"}
        for s in stored
        if s["timeframe"] == tf.value
    ]
    # The symbol keeps its newest REDIS_SIGNALS_MAXLEN signals (or a few more: MAXLEN ~).
    assert found == expected[len(expected) - len(found) :]
    assert len(found) == len(expected) or len(stored) >= settings.redis_signals_maxlen
    return live


@pytest.mark.parametrize("seconds", [3 * 3600] + ([48 * 3600] if LONG else []))
def test_sigkilled_worker_duplicates_and_overlaps_leave_every_bar_once(
    producer, start_worker, settings: Settings, seconds: int
) -> None:
    store = RedisStore.from_url(settings.redis_url)
    victim = start_worker(BROKER_VISIBILITY_TIMEOUT="5")
    start_worker(BROKER_VISIBILITY_TIMEOUT="5")
    ticks = list(range(START, START + seconds, 15))
    for index, tick in enumerate(ticks):
        send_tick(producer, SYMBOLS, float(tick))
        if index % 10 == 0:  # a redelivered / duplicated message
            send_tick(producer, SYMBOLS, float(tick))
        if index % 7 == 0:  # an overlapping beat tick for two of the symbols
            send_tick(producer, SYMBOLS[:2], float(tick))
        if index == len(ticks) // 3:
            wait_for(
                lambda: store.client.hget(keys.live("AAPL"), "time") is not None,
                30,
                "work to start",
            )
            victim.kill()
            start_worker(BROKER_VISIBILITY_TIMEOUT="5")
    wait_for(
        lambda: queues_drained(store),
        180,
        "every message, redelivered ones included, to be processed",
    )

    quotes = [q for batch in mock_quotes(SYMBOLS, START, seconds, step=15) for q in batch]
    for symbol in SYMBOLS:
        live = assert_state_equals_replay(store, settings, symbol, Timeframe.M1)
        aggregator = BarAggregator(symbol, Timeframe.M1)
        expected = [b.time for q in quotes if q.symbol == symbol if (b := aggregator.on_quote(q))]
        assert [s.bar.time for s in live] == expected, "a bar was lost"


def test_backfill_survives_sigkill_and_redis_restart(
    producer, start_worker, settings: Settings, redis_server: LocalRedis
) -> None:
    store = RedisStore.from_url(settings.redis_url)
    victim = start_worker(BROKER_VISIBILITY_TIMEOUT="5")
    bars = list(read_bars(DATA / "EURUSD.csv", "EURUSD", Timeframe.H1))
    job = backfill.create_job(store, "EURUSD", Timeframe.H1, bars)
    producer.send_task("wagehood.backfill_chunk", args=[job, 0])
    wait_for(lambda: backfill.status(store, job)["chunks_done"] >= 2, 60, "two chunks")
    victim.kill()
    redis_server.stop()  # SIGTERM: Redis flushes its AOF and exits
    redis_server.start(appendonly=True)
    start_worker(BROKER_VISIBILITY_TIMEOUT="5")
    wait_for(lambda: backfill.status(store, job)["done"], 180, "the backfill to finish")

    live = assert_state_equals_replay(store, settings, "EURUSD", Timeframe.H1)
    assert [s.bar for s in live] == bars
