"""The live chain on real Celery workers: fetch -> compute_indicators -> evaluate_strategies.

Ticks are sent with simulated times (the mock provider is a pure function of time), so a run
covers hours of market data in seconds and can be checked value for value.
"""

from __future__ import annotations

import json

from tests.factories import START, context, mock_quotes, offline, send_tick, stored_snapshots
from tests.processes import wait_for
from wagehood.bars import BarAggregator
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Timeframe

SYMBOLS = ["AAPL", "MSFT", "SPY"]


def last_tick_applied(store: RedisStore, symbols: list[str], tick: float) -> bool:
    times = [store.client.hget(keys.live(s), "time") for s in symbols]
    return all(t is not None and float(t) >= tick for t in times)


def test_chain_on_a_real_worker_equals_offline_aggregation_and_replay(
    producer, start_worker, settings: Settings
) -> None:
    start_worker()
    store = RedisStore.from_url(settings.redis_url)
    ticks = list(range(START, START + 2 * 3600, 15))
    for tick in ticks:
        send_tick(producer, SYMBOLS, float(tick))
    wait_for(
        lambda: last_tick_applied(store, SYMBOLS, ticks[-1]), 90, "the last tick to be applied"
    )

    ctx = context(store, settings)
    quotes = [q for batch in mock_quotes(SYMBOLS, START, 2 * 3600, step=15) for q in batch]
    for symbol in SYMBOLS:
        aggregator = BarAggregator(symbol, Timeframe.M1)
        expected = [b for q in quotes if q.symbol == symbol if (b := aggregator.on_quote(q))]
        live = stored_snapshots(store, symbol, Timeframe.M1)
        assert [s.bar for s in live] == expected
        assert [s.values for s in live] == [s.values for s in offline(ctx, live)]
    engine = store.client.hgetall(keys.engine("AAPL", Timeframe.M1))
    assert int(engine["bars_processed"]) == 2 * 60 - 1
    wait_for(
        lambda: (
            store.client.hget(keys.strategy_state("AAPL", Timeframe.M1), "last_eval")
            == engine["last_bar_time"]
        ),
        30,
        "strategies to catch up",
    )


def test_updates_stream_has_one_gapless_sequence(
    producer, start_worker, settings: Settings
) -> None:
    start_worker()
    store = RedisStore.from_url(settings.redis_url)
    ticks = list(range(START, START + 600, 10))
    for tick in ticks:
        send_tick(producer, SYMBOLS, float(tick))
    wait_for(lambda: last_tick_applied(store, SYMBOLS, ticks[-1]), 60, "the last tick")
    entries = store.stream_range(keys.UPDATES)
    seqs = [int(entry_id.split("-")[0]) for entry_id, _ in entries]
    assert seqs == list(range(1, len(seqs) + 1))
    bar_frames = [json.loads(f["data"]) for _, f in entries if f["type"] == "bar"]
    assert len(bar_frames) == len(ticks) * len(SYMBOLS)
