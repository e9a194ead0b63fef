"""Warm-up and gap fill against a real Redis, with a small deterministic history source."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pybreaker
import pytest

from tests.factories import START, context, offline, stored_snapshots
from wagehood.errors import BudgetExceededError, ProviderUnavailableError
from wagehood.service import barstore, pipeline, sync, warmup, watchlist
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Bar, Quote, Timeframe

NOW = START + 10 * 86400 + 3600 * 5 + 50  # 50 s into a minute, 5 h into a day
BARS = 300


@dataclass(frozen=True)
class Result:
    bars: dict[str, list[Bar]]
    failed: dict[str, str] = field(default_factory=dict)


def price(symbol: str, t: float) -> float:
    phase = sum(map(ord, symbol))
    return 100 + 10 * math.sin(t / 5000 + phase) + 3 * math.sin(t / 700)


@dataclass
class Source:
    """Closed bars of a smooth price path; can be told to fail after some calls."""

    name: str = "tiny"
    calls: list[tuple[str, int, int]] = field(default_factory=list)
    fail_after: int | None = None
    unknown: tuple[str, ...] = ()

    def get_bars(
        self, symbols: Sequence[str], timeframe: Timeframe, start: int, end: int
    ) -> Result:
        self.calls.append((timeframe.value, start, end))
        if self.fail_after is not None and len(self.calls) > self.fail_after:
            raise ProviderUnavailableError("tiny: down", retry_after=1)
        bars = {
            s: [
                bar(s, timeframe, t)
                for t in range(
                    timeframe.floor(start - 1) + timeframe.seconds, end, timeframe.seconds
                )
                if t >= start
            ]
            for s in symbols
            if s not in self.unknown
        }
        return Result(bars, {s: "unknown symbol" for s in symbols if s in self.unknown})


def bar(symbol: str, tf: Timeframe, t: int) -> Bar:
    o, c = price(symbol, t), price(symbol, t + tf.seconds)
    return Bar(symbol, tf, t, o, max(o, c) + 0.5, min(o, c) - 0.5, c, 1000.0)


@pytest.fixture
def store(settings: Settings) -> RedisStore:
    return RedisStore.from_url(settings.redis_url)


def _breaker() -> pybreaker.CircuitBreaker:
    return pybreaker.CircuitBreaker(fail_max=100)


def _warm(
    store: RedisStore, settings: Settings, source: Source, symbol: str, now: float = NOW
) -> sync.SyncStatus:
    status = warmup.warm(
        context(store, settings),
        source,
        _breaker(),
        symbol,
        warmup_bars=BARS,
        clock=lambda: now,
        slice_seconds=1e9,
    )
    assert status is not None
    return status


def test_warm_up_loads_the_last_bars_of_every_timeframe_and_equals_a_replay(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    count = warmup.bar_count(ctx, BARS)
    assert count >= BARS  # more when a look-back needs more (ema_200 on the defaults)
    status = _warm(store, settings, Source(), "NVDA")
    assert status.state is sync.SyncState.LIVE
    for tf in ctx.config.timeframes:
        stored = stored_snapshots(store, "NVDA", tf)
        end = tf.floor(NOW)
        assert [s.bar.time for s in stored] == list(
            range(end - count * tf.seconds, end, tf.seconds)
        )
        assert [s.bar for s in stored] == [bar("NVDA", tf, s.bar.time) for s in stored]
        assert stored == offline(ctx, stored)
        fields = store.stream_range(keys.bars("NVDA", tf))[0][1]
        assert barstore.is_historical(fields)
    assert pipeline.SYNCING not in store.client.hgetall(keys.live("NVDA"))


def test_live_bars_closing_during_warm_up_are_left_to_the_history(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    sync.queue(store, ["NVDA"], "watch", NOW - 120)
    # Ticks while queued: two minute bars close; they must not reach the engine.
    for t in range(int(NOW) - 150, int(NOW) + 1, 10):
        pipeline.process_quotes(ctx, [Quote("NVDA", float(t), price("NVDA", t), 1.0)])
    assert not store.stream_range(keys.bars("NVDA", Timeframe.M1))
    _warm(store, settings, Source(), "NVDA")
    stored = stored_snapshots(store, "NVDA", Timeframe.M1)
    assert stored[-1].bar.time == Timeframe.M1.floor(NOW) - 60
    # The bar in progress continues after the history: the next close applies it, no gap.
    live = store.client.hgetall(keys.live("NVDA"))
    assert int(live["1m.time"]) == Timeframe.M1.floor(NOW)
    nxt = Timeframe.M1.floor(NOW) + 61
    refs = pipeline.process_quotes(ctx, [Quote("NVDA", float(nxt), 101.0, 1.0)])
    assert ["NVDA", "1m", Timeframe.M1.floor(NOW)] in refs
    times = [s.bar.time for s in stored_snapshots(store, "NVDA", Timeframe.M1)]
    assert times == list(range(times[0], times[-1] + 60, 60))


def test_warm_up_fetches_the_bar_that_closed_before_going_live(
    store: RedisStore, settings: Settings
) -> None:
    # The clock passes a minute boundary during the warm-up: the live bar in progress is
    # already in the next minute, so the history must reach it before live bars flow.
    ctx = context(store, settings)
    sync.queue(store, ["NVDA"], "watch", NOW)
    boundary = Timeframe.M1.floor(NOW) + 60
    pipeline.process_quotes(ctx, [Quote("NVDA", float(boundary + 2), 100.0, 1.0)])
    clock = iter([NOW, *([boundary + 3.0] * 50)])
    warmup.warm(
        ctx,
        Source(),
        _breaker(),
        "NVDA",
        warmup_bars=BARS,
        clock=lambda: next(clock),
        slice_seconds=1e9,
    )
    stored = stored_snapshots(store, "NVDA", Timeframe.M1)
    assert stored[-1].bar.time == boundary - 60


def test_a_provider_failing_mid_history_retries_and_then_leaves_no_gap_or_double(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    sync.queue(store, ["NVDA"], "watch", NOW)
    failing = _warm(store, settings, Source(fail_after=1), "NVDA")
    assert failing.state is sync.SyncState.RETRYING
    assert "tiny: down" in failing.error
    assert failing.retry_at is not None
    assert store.client.hget(keys.live("NVDA"), pipeline.SYNCING) == "1"
    assert store.client.zscore(keys.SYNC_PENDING, "NVDA") == pytest.approx(failing.retry_at)
    done = _warm(store, settings, Source(), "NVDA", now=NOW + 30)
    assert done.state is sync.SyncState.LIVE
    for tf in ctx.config.timeframes:
        stored = stored_snapshots(store, "NVDA", tf)
        times = [s.bar.time for s in stored]
        assert times == list(range(times[0], tf.floor(NOW + 30), tf.seconds))
        assert stored == offline(ctx, stored)


def test_an_unknown_symbol_fails_clearly_and_lets_live_bars_through(
    store: RedisStore, settings: Settings
) -> None:
    status = _warm(store, settings, Source(unknown=("ZZZZ",)), "ZZZZ")
    assert status.state is sync.SyncState.FAILED
    assert status.error == "ZZZZ: unknown symbol"
    assert pipeline.SYNCING not in store.client.hgetall(keys.live("ZZZZ"))


def test_historical_signals_are_stored_but_never_delivered(
    store: RedisStore, settings: Settings
) -> None:
    store.client.hset(keys.CHANNELS, "hook", "{}")  # deliveries wanted
    _warm(store, settings, Source(), "NVDA")
    records = [json.loads(f["data"]) for _, f in store.stream_range(keys.symbol_signals("NVDA"))]
    assert records
    assert all(r["historical"] for r in records)
    assert not store.client.hlen(keys.OUTBOX)


def test_gap_fill_continues_from_the_last_bar(store: RedisStore, settings: Settings) -> None:
    ctx = context(store, settings)
    _warm(store, settings, Source(), "NVDA")
    later = NOW + 3 * 3600
    assert sync.lagging(store, ["NVDA"], ctx.config.timeframes, later) == ["NVDA"]
    assert sync.lagging(store, ["NVDA"], ctx.config.timeframes, NOW + 5) == []
    source = Source()
    _warm(store, settings, source, "NVDA", now=later)
    assert ("1m", Timeframe.M1.floor(NOW), Timeframe.M1.floor(later)) in source.calls
    for tf in ctx.config.timeframes:
        stored = stored_snapshots(store, "NVDA", tf)
        times = [s.bar.time for s in stored]
        assert times == list(range(times[0], tf.floor(later), tf.seconds))
        assert stored == offline(ctx, stored)
    assert sync.lagging(store, ["NVDA"], ctx.config.timeframes, later + 5) == []


def test_dispatch_queues_new_symbols_and_bounds_concurrent_warm_ups(
    store: RedisStore, settings: Settings
) -> None:
    tfs = (Timeframe.M1,)
    watchlist.add(store, [(s, "mock") for s in ("A", "B", "C")])
    due = sync.due_warmups(store, tfs, 2, 90.0, NOW)
    assert due == [("A", "mock"), ("B", "mock")]
    assert sync.due_warmups(store, tfs, 2, 90.0, NOW + 1) == []
    assert sync.status(store, "C").state is sync.SyncState.QUEUED
    store.client.zrem(keys.SYNC_ACTIVE, "A")  # A finished
    assert sync.due_warmups(store, tfs, 2, 90.0, NOW + 2) == [("C", "mock")]
    # A warm-up whose worker died is handed out again once its heartbeat is stale.
    assert ("B", "mock") in sync.due_warmups(store, tfs, 2, 90.0, NOW + 200)


def test_a_first_start_with_many_symbols_is_queued_in_batches_each_flagged_first(
    store: RedisStore,
) -> None:
    # The soak found it: one dispatch flagging 1,000 new symbols one commit at a time ran past
    # its time limit, and the symbols it had recorded but not flagged closed live bars before
    # their history. Now each dispatch queues a bounded batch, and every symbol it records as
    # known is already flagged.
    tfs = (Timeframe.M1,)
    symbols = [f"S{i:04d}" for i in range(2 * sync.QUEUE_BATCH + 50)]
    watchlist.add(store, [(s, "mock") for s in symbols])
    for n in range(1, 4):
        sync.due_warmups(store, tfs, 1, 90.0, NOW + n)
        known = store.client.smembers(keys.SYNC_KNOWN)
        assert len(known) == min(n * sync.QUEUE_BATCH, len(symbols))
        flags = store.hgetall_many([keys.live(s) for s in sorted(known)])
        assert all(live.get(sync.SYNCING) == "1" for live in flags)
    assert known == set(symbols)
    queued = [sync.status(store, s).state for s in symbols]
    assert set(queued) == {sync.SyncState.QUEUED}  # until each one's warm-up job begins


def test_warm_up_publishes_a_sync_frame_when_it_starts_and_ends(
    store: RedisStore, settings: Settings
) -> None:
    sync.queue(store, ["NVDA"], "watch", NOW)
    _warm(store, settings, Source(), "NVDA")
    frames = [
        json.loads(f["data"])
        for _, f in store.stream_range(keys.UPDATES)
        if f["type"] == "sync" and f["symbol"] == "NVDA"
    ]
    assert [f["state"] for f in frames] == ["queued", "warming", "live"]
    assert frames[1]["bars_total"] > 0
    assert frames[-1]["progress"] == 1.0


def test_a_failed_symbol_keeps_its_error_until_its_retry_is_due(
    store: RedisStore, settings: Settings
) -> None:
    tfs = (Timeframe.M1,)
    watchlist.add(store, [("ZZZZ", "mock")])
    assert sync.due_warmups(store, tfs, 2, 90.0, NOW) == [("ZZZZ", "mock")]
    _warm(store, settings, Source(unknown=("ZZZZ",)), "ZZZZ")
    store.client.delete(keys.SYNC_CHECKED)  # the next dispatch runs a gap check
    assert sync.due_warmups(store, tfs, 2, 90.0, NOW + 20) == []
    assert sync.status(store, "ZZZZ").state is sync.SyncState.FAILED
    retry = NOW + sync.FAILED_RETRY_SECONDS + 1
    assert sync.due_warmups(store, tfs, 2, 90.0, retry) == [("ZZZZ", "mock")]


def test_a_used_up_request_budget_only_waits_and_never_fails_the_symbol(
    store: RedisStore, settings: Settings
) -> None:
    @dataclass
    class Busy(Source):
        def get_bars(
            self, symbols: Sequence[str], timeframe: Timeframe, start: int, end: int
        ) -> Result:
            raise BudgetExceededError("tiny: request budget used up", retry_after=7)

    sync.queue(store, ["NVDA"], "watch", NOW)
    for _ in range(sync.MAX_ATTEMPTS + 2):
        status = _warm(store, settings, Busy(), "NVDA")
        assert status.state is sync.SyncState.RETRYING
    assert status.retry_at == pytest.approx(NOW + 7)


def test_a_warm_up_in_slices_equals_one_in_a_single_task(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    sync.queue(store, ["NVDA"], "watch", NOW)
    slices = 0
    status = None
    while status is None:
        slices += 1
        status = warmup.warm(
            ctx, Source(), _breaker(), "NVDA", warmup_bars=BARS, clock=lambda: NOW,
            resume=slices > 1, slice_seconds=0.0,
        )  # fmt: skip
    assert slices == len(ctx.config.timeframes)
    assert status.state is sync.SyncState.LIVE
    assert status.bars_done == status.bars_total
    for tf in ctx.config.timeframes:
        stored = stored_snapshots(store, "NVDA", tf)
        assert [s.bar for s in stored] == [bar("NVDA", tf, s.bar.time) for s in stored]
        assert stored == offline(ctx, stored)
