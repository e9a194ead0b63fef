"""Warm-up and gap fill: load a symbol's provider history and apply it like live bars.

One job serves both: for each configured timeframe it asks the provider for the closed bars
after the last bar applied (or, for a symbol with no bars, the last ``WARMUP_BARS`` of them,
in the provider's native bars of that timeframe) up to the start of the bar in progress, and
applies them in chunks through ``pipeline.apply_bars`` — the engine and guarded commits live
bars use, marked historical so that their signals are stored but never delivered. The live
pipeline meanwhile keeps building the bar in progress but leaves closed bars to the history
(``sync`` flag); once the history reaches the bar in progress, ``sync.go_live`` drops a stale
bar in progress and lets live bars through, in one guarded commit. Every write is idempotent
(bar-time guard), so a redelivered or repeated job changes nothing twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import pybreaker

from wagehood.engine import merge_specs
from wagehood.errors import (
    BudgetExceededError,
    DataError,
    ProviderError,
    ProviderUnavailableError,
    TemporaryError,
)
from wagehood.indicators.registry import IndicatorSet
from wagehood.providers.base import BarSource
from wagehood.service import fetch, signals, sync
from wagehood.service.pipeline import PipelineContext, apply_bars
from wagehood.storage import keys
from wagehood.types import Bar, Timeframe

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
SLICE_SECONDS = 0.5  # a task starts no further timeframe after this long
MAX_CATCHUP = 20
WIDEN = (1, 4, 16)  # a sparse history (closed markets) is asked again over a wider range


def bar_count(ctx: PipelineContext, warmup_bars: int) -> int:
    """Return the bars to load per timeframe: ``WARMUP_BARS``, more if a look-back needs it.

    Never more than the bars stream keeps (``REDIS_STREAMS_MAXLEN``).
    """
    config = ctx.config
    indicators = IndicatorSet(merge_specs(config.indicators, config.strategy_set))
    needed = 2 * max(indicators.warmup, config.strategy_set.lookback)
    return min(max(warmup_bars, needed), ctx.streams_maxlen)


def warm(
    ctx: PipelineContext,
    source: BarSource,
    breaker: pybreaker.CircuitBreaker,
    symbol: str,
    *,
    warmup_bars: int,
    clock: Callable[[], float] = time.time,
    resume: bool = False,
    slice_seconds: float = SLICE_SECONDS,
) -> sync.SyncStatus | None:
    """Load and apply ``symbol``'s missing history on every timeframe; return its status.

    The work is cut into slices: once ``slice_seconds`` have passed, no further timeframe is
    started and ``None`` is returned, for the caller to continue (``resume=True``) in a new
    task, so that a worker process running warm-ups still takes live ticks in between.
    A provider failure is recorded in the symbol's status and retried later by the
    dispatcher (``sync.fail``); it never raises, so other symbols' warm-ups go on.
    """
    count = bar_count(ctx, warmup_bars)
    timeframes = ctx.config.timeframes
    now = clock()
    ends = {tf: tf.floor(now) for tf in timeframes}
    lasts = _last_bar_times(ctx, symbol, timeframes)
    starts = {tf: _start(tf, lasts[tf], ends[tf], count) for tf in timeframes}
    total = sum((ends[tf] - starts[tf]) // tf.seconds for tf in timeframes)
    if resume:
        started = sync.status(ctx.store, symbol)
        total = max(started.bars_total, total)
    else:
        started = sync.begin(ctx.store, symbol, total, now)
    loader = _Loader(ctx, source, breaker, symbol, count=count, clock=clock)
    loader.applied = started.bars_done
    began = time.monotonic()
    try:
        worked = False
        for tf in (tf for tf in timeframes if starts[tf] < ends[tf]):
            if worked and time.monotonic() - began > slice_seconds:
                return None  # more to do: the caller continues in a new task
            loader.load(tf, starts[tf], ends[tf], widen=lasts[tf] is None)
            worked = True
        done = sync.SyncStatus(
            symbol, sync.SyncState.LIVE, started.reason, loader.applied, total, 0, "", now
        )
        loader.catch_up(ends, done)
    except BudgetExceededError as error:  # other requests used the budget: wait, don't count
        return sync.fail(ctx.store, symbol, error, clock(), temporary=True, counts=False)
    except ProviderUnavailableError as error:
        return sync.fail(ctx.store, symbol, error, clock(), temporary=True)
    except DataError as error:
        return sync.fail(ctx.store, symbol, error, clock(), temporary=False)
    logger.info("%s: %s applied %d historical bars", symbol, started.reason, loader.applied)
    return sync.status(ctx.store, symbol)


class _Loader:
    # One job's fetches and applies, with its progress.
    def __init__(
        self,
        ctx: PipelineContext,
        source: BarSource,
        breaker: pybreaker.CircuitBreaker,
        symbol: str,
        *,
        count: int,
        clock: Callable[[], float],
    ) -> None:
        self.ctx, self.source, self.breaker = ctx, source, breaker
        self.symbol, self.count, self.clock = symbol, count, clock
        self.applied = 0

    def load(self, tf: Timeframe, start: int, end: int, *, widen: bool = False) -> None:
        """Fetch and apply the bars of ``[start, end)`` (wider if sparse and ``widen``)."""
        if start >= end:
            return
        bars = self._fetch(tf, start, end)
        for factor in WIDEN[1:] if widen else ():
            if len(bars) >= self.count:
                break
            bars = self._fetch(tf, end - factor * (end - start), end)
        kept = bars[-self.count :]
        for index in range(0, len(kept), CHUNK_SIZE):
            chunk = kept[index : index + CHUNK_SIZE]
            refs = apply_bars(self.ctx, self.symbol, tf, chunk, historical=True)
            # Strategies evaluate each chunk as it lands (catching up on any earlier one
            # a killed run left behind), so no step of the job runs long without a heartbeat.
            signals.evaluate_strategies(self.ctx, refs or [[self.symbol, tf.value, None]])
            self.applied += len(chunk)
            sync.heartbeat(self.ctx.store, self.symbol, self.applied, self.clock())

    def catch_up(self, ends: dict[Timeframe, int], done: sync.SyncStatus) -> None:
        """Fetch the bars that closed meanwhile until the history meets the live bar."""
        for _ in range(MAX_CATCHUP):
            now = self.clock()
            for tf, end in ends.items():
                if tf.floor(now) > end:
                    self.load(tf, end, tf.floor(now))
                    ends[tf] = tf.floor(now)
            if sync.go_live(self.ctx.store, self.symbol, ends, done, now):
                return
            time.sleep(0.05)  # a bar boundary just passed: fetch the bar that closed
        raise TemporaryError(f"{self.symbol}: live bars kept moving ahead of the history")

    def _fetch(self, tf: Timeframe, start: int, end: int) -> list[Bar]:
        result = fetch.fetch_history(
            self.source, self.breaker, self.ctx.store, [self.symbol], tf, start=start, end=end
        )
        if self.symbol in result.failed:
            raise ProviderError(f"{self.symbol}: {result.failed[self.symbol]}")
        found = {
            bar.time: bar
            for bar in result.bars.get(self.symbol, ())
            if bar.timeframe is tf and bar.closed and start <= bar.time < end
        }
        return [found[t] for t in sorted(found)]


def _start(tf: Timeframe, last: int | None, end: int, count: int) -> int:
    earliest = end - count * tf.seconds
    return earliest if last is None else max(last + tf.seconds, earliest)


def _last_bar_times(
    ctx: PipelineContext, symbol: str, timeframes: Sequence[Timeframe]
) -> dict[Timeframe, int | None]:
    reads: list[tuple[str, tuple[Any, ...]]] = [
        ("hget", (keys.engine(symbol, tf), "last_bar_time")) for tf in timeframes
    ]
    found = ctx.store.pipeline_reads(reads)
    return {tf: int(v) if v else None for tf, v in zip(timeframes, found, strict=True)}
