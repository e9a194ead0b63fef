"""The pipeline's use cases against a real Redis: bars, indicators, exactly-once effects."""

from __future__ import annotations

import dataclasses
import json
import math
import threading

import pytest

from tests.factories import START, context, mock_quotes, offline, stored_snapshots
from wagehood.bars import BarAggregator
from wagehood.engine import merge_specs, replay
from wagehood.service import pipeline, signals
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Bar, Timeframe

SYMBOLS = ["AAPL", "SPY"]


@pytest.fixture
def store(settings: Settings) -> RedisStore:
    return RedisStore.from_url(settings.redis_url)


def _expected_bars(symbol: str, tf: Timeframe, ticks: list[list]) -> list[Bar]:
    aggregator = BarAggregator(symbol, tf)
    closed = [aggregator.on_quote(q) for batch in ticks for q in batch if q.symbol == symbol]
    return [bar for bar in closed if bar is not None]


def test_quotes_become_the_bars_an_offline_aggregation_gives(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    ticks = list(mock_quotes(SYMBOLS, START, 3 * 3600, step=5))
    for batch in ticks:
        pipeline.process_quotes(ctx, batch)
    for symbol in SYMBOLS:
        for tf in ctx.config.timeframes:
            stored = [s.bar for s in stored_snapshots(store, symbol, tf)]
            assert stored == _expected_bars(symbol, tf, ticks)
    assert len(stored_snapshots(store, "AAPL", Timeframe.M1)) == 3 * 60 - 1


def test_live_hash_holds_each_timeframes_full_in_progress_state(
    store: RedisStore, settings: Settings
) -> None:
    # Each commit writes only the fields that changed; the hash must still be the whole state.
    ctx = context(store, settings)
    ticks = list(mock_quotes(["AAPL"], START + 30, 2 * 3600, step=13))
    for batch in ticks:
        pipeline.process_quotes(ctx, batch)
    live = store.client.hgetall(keys.live("AAPL"))
    quotes = [q for batch in ticks for q in batch]
    for tf in ctx.config.timeframes:
        aggregator = BarAggregator("AAPL", tf)
        for quote in quotes:
            aggregator.on_quote(quote)
        expected = aggregator.to_state(tf.value + ".")
        assert {k: v for k, v in live.items() if k.startswith(tf.value + ".")} == expected
    assert (live["price"], live["time"]) == (repr(quotes[-1].price), repr(quotes[-1].time))


def test_live_indicator_state_equals_offline_replay(store: RedisStore, settings: Settings) -> None:
    ctx = context(store, settings)
    for batch in mock_quotes(["AAPL"], START, 4 * 3600, step=10):
        pipeline.process_quotes(ctx, batch)
    live = stored_snapshots(store, "AAPL", Timeframe.M1)
    replayed = offline(ctx, live)
    assert [s.values for s in live] == [s.values for s in replayed]
    engine = store.client.hgetall(keys.engine("AAPL", Timeframe.M1))
    assert int(engine["bars_processed"]) == len(live) == 4 * 60 - 1
    assert json.loads(engine["values"]) == dict(replayed[-1].values)
    assert replayed[-1].values["macd_hist"] is not None


def test_repeated_quotes_change_nothing(store: RedisStore, settings: Settings) -> None:
    ctx = context(store, settings)
    ticks = list(mock_quotes(["AAPL"], START, 1800, step=7))
    for batch in ticks:
        pipeline.process_quotes(ctx, batch)
    before = {
        k: store.client.hgetall(keys.engine("AAPL", tf))
        for k, tf in enumerate(ctx.config.timeframes)
    }
    bars_before = stored_snapshots(store, "AAPL", Timeframe.M1)
    for batch in ticks[::3]:
        refs = pipeline.process_quotes(ctx, batch)
        assert all(ref[2] is None for ref in refs)
    after = {
        k: store.client.hgetall(keys.engine("AAPL", tf))
        for k, tf in enumerate(ctx.config.timeframes)
    }
    assert after == before
    assert stored_snapshots(store, "AAPL", Timeframe.M1) == bars_before


def test_concurrent_writers_apply_each_bar_once_in_order(
    store: RedisStore, settings: Settings
) -> None:
    ticks = list(mock_quotes(SYMBOLS, START, 2 * 3600, step=5))
    ctxs = [context(RedisStore.from_url(settings.redis_url), settings) for _ in range(3)]

    def run(ctx: pipeline.PipelineContext, part: list) -> None:
        for batch in part:
            pipeline.process_quotes(ctx, batch)

    # three writers, each given every tick (maximal overlap) in the same order
    threads = [threading.Thread(target=run, args=(ctx, ticks)) for ctx in ctxs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for symbol in SYMBOLS:
        live = stored_snapshots(store, symbol, Timeframe.M1)
        times = [s.bar.time for s in live]
        assert times == sorted(set(times))
        assert [s.bar for s in live] == _expected_bars(symbol, Timeframe.M1, ticks)
        assert [s.values for s in live] == [s.values for s in offline(ctxs[0], live)]
        engine = store.client.hgetall(keys.engine(symbol, Timeframe.M1))
        assert int(engine["bars_processed"]) == len(live)


def test_backfill_bars_are_refused_once_applied(store: RedisStore, settings: Settings) -> None:
    ctx = context(store, settings)
    bars = [
        Bar("MSFT", Timeframe.D1, START + i * 86400, 10.0 + i, 11.0 + i, 9.0 + i, 10.5 + i, 100.0)
        for i in range(60)
    ]
    refs = pipeline.apply_bars(ctx, "MSFT", Timeframe.D1, bars[:40])
    assert len(refs) == 40
    refs = pipeline.apply_bars(ctx, "MSFT", Timeframe.D1, bars[20:])
    assert [r[2] for r in refs] == [b.time for b in bars[40:]]
    live = stored_snapshots(store, "MSFT", Timeframe.D1)
    assert [s.bar for s in live] == bars


def test_strategies_evaluate_every_bar_once_even_out_of_order(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    bars = [
        Bar("TSLA", Timeframe.D1, START + i * 86400, p, p * 1.01, p * 0.99, p, 1000.0)
        for i, p in enumerate(_zigzag(400))
    ]
    refs = pipeline.apply_bars(ctx, "TSLA", Timeframe.D1, bars)
    # evaluate the second half first, then everything again: no bar twice, none skipped
    signals.evaluate_strategies(ctx, refs[200:])
    signals.evaluate_strategies(ctx, refs)
    signals.evaluate_strategies(ctx, [["TSLA", "1d", None]])
    stored = [json.loads(f["data"]) for _, f in store.stream_range(keys.symbol_signals("TSLA"))]
    expected = []
    specs = merge_specs(ctx.config.indicators, ctx.config.strategy_set)
    for row in pipeline_replay(bars, specs, ctx):
        expected += [s.to_dict() for s in row.signals]
    assert stored == expected
    assert len(expected) > 5


def test_a_symbols_signals_stream_keeps_its_newest_signals_up_to_the_cap(
    store: RedisStore, settings: Settings
) -> None:
    # REDIS_SIGNALS_MAXLEN bounds the per-symbol stream (trimmed with MAXLEN ~, so whole
    # stream nodes go: a little above the cap); the all-symbols stream keeps its own cap.
    capped = dataclasses.replace(settings, redis_signals_maxlen=20)
    ctx = pipeline.PipelineContext.of(store, context(store, settings).config, capped)
    bars = [
        Bar("TSLA", Timeframe.D1, START + i * 86400, p, p * 1.01, p * 0.99, p, 1000.0)
        for i, p in enumerate(_zigzag(1500))
    ]
    produced = signals.evaluate_strategies(
        ctx, pipeline.apply_bars(ctx, "TSLA", Timeframe.D1, bars)
    )
    assert len(produced) > 100
    kept = _signal_records(store, "TSLA")
    assert 20 <= len(kept) < 40
    assert kept == [s.to_dict() for s in produced[-len(kept) :]]
    assert store.client.xlen(keys.SIGNALS) == len(produced)


def pipeline_replay(bars: list[Bar], specs: dict, ctx: pipeline.PipelineContext):
    return replay(bars, specs, ctx.config.strategy_set)


def _zigzag(n: int) -> list[float]:
    return [100 + 20 * math.sin(i / 9) + 5 * math.sin(i / 2.3) for i in range(n)]


def _signal_records(store: RedisStore, symbol: str) -> list[dict[str, object]]:
    return [json.loads(f["data"]) for _, f in store.stream_range(keys.symbol_signals(symbol))]


def test_live_closes_evaluate_strategies_in_the_compute_commit_as_the_deferred_step_does(
    settings: Settings,
) -> None:
    # The same quotes twice, in two Redis databases: once with strategies evaluated inline by
    # the compute step (the live path), once with the closed bars applied and evaluated by
    # the separate strategy step (the path of a warm-up or backfill). Same signals, same
    # strategy state, and the signals a replay of the stored bars gives.
    inline_store = RedisStore.from_url(settings.redis_url)
    deferred_store = RedisStore.from_url(settings.redis_url.rsplit("/", 1)[0] + "/1")
    deferred_store.client.flushdb()
    inline_ctx, deferred_ctx = context(inline_store, settings), context(deferred_store, settings)
    ticks = list(mock_quotes(["AAPL"], START, 5 * 3600, step=20))
    closes = 0
    for batch in ticks:
        done = pipeline.apply_quotes(inline_ctx, batch)
        assert done.pending == []  # nothing left for evaluate_strategies
        closes += len(done.refs)
    assert closes > 300
    tf = Timeframe.M1
    bars = [s.bar for s in stored_snapshots(inline_store, "AAPL", tf)]
    for start in range(0, len(bars), 7):  # in chunks, as a backfill applies them
        refs = pipeline.apply_bars(deferred_ctx, "AAPL", tf, bars[start : start + 7])
        signals.evaluate_strategies(deferred_ctx, refs)

    live = _signal_records(inline_store, "AAPL")
    specs = merge_specs(inline_ctx.config.indicators, inline_ctx.config.strategy_set)
    replayed = [
        s.to_dict() for row in pipeline_replay(bars, specs, inline_ctx) for s in row.signals
    ]
    assert [r for r in live if r["timeframe"] == tf.value] == replayed
    assert replayed
    deferred = _signal_records(deferred_store, "AAPL")
    assert deferred == [r for r in live if r["timeframe"] == tf.value]
    inline_state = inline_store.client.hgetall(keys.strategy_state("AAPL", tf))
    deferred_state = deferred_store.client.hgetall(keys.strategy_state("AAPL", tf))
    for name in ("last_eval", "ring", "ring_keep", "ring_columns"):
        assert inline_state[name] == deferred_state[name]
