"""Builders shared by tests: quotes from the mock provider, pipeline contexts, replays."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from celery import Celery, chain

from wagehood.engine import merge_specs, replay
from wagehood.providers.mock import MockProvider
from wagehood.service import barstore
from wagehood.service.config import load_config
from wagehood.service.pipeline import PipelineContext
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Bar, Quote, Snapshot, Timeframe

START = 1_717_200_000  # 2024-06-01T00:00:00Z, a whole day boundary


def mock_quotes(
    symbols: Sequence[str], start: int, seconds: int, step: int = 1, seed: int = 42
) -> Iterator[list[Quote]]:
    """Yield, per tick, the mock provider's quotes for ``symbols``."""
    provider = MockProvider(seed)
    for t in range(start, start + seconds, step):
        yield list(provider.get_quotes(symbols, float(t)).quotes)


def context(store: RedisStore, settings: Settings) -> PipelineContext:
    """Return a pipeline context with the stored (or default) runtime config."""
    return PipelineContext.of(store, load_config(store, settings), settings)


def stored_snapshots(store: RedisStore, symbol: str, tf: Timeframe) -> list[Snapshot]:
    """Return every closed bar (with its values) kept in the bars stream."""
    return barstore.read(store, symbol, tf)


def stored_bars(store: RedisStore, symbol: str, tf: Timeframe) -> list[Bar]:
    """Return every closed bar kept in the bars stream, without recomputing its values.

    Unlike ``stored_snapshots`` it needs no indicator code, so a test process without a
    plugin's indicators can read the bars a plugin-configured system stored.
    """
    entries = store.client.xrange(keys.bars(symbol, tf))
    return [barstore.decode(symbol, tf, entry_id, fields).bar for entry_id, fields in entries]


def offline(ctx: PipelineContext, snapshots: Sequence[Snapshot]) -> list[Snapshot]:
    """Replay the bars of ``snapshots`` offline with the context's configuration."""
    rows = replay((s.bar for s in snapshots), ctx.config.indicators, ctx.config.strategy_set)
    return [row.snapshot for row in rows]


def send_tick(producer: Celery, symbols: list[str], tick: float) -> None:
    """Send the live chain for one simulated tick, by task name, as beat's dispatch does."""
    chain(
        producer.signature("wagehood.fetch_quotes", args=("mock", symbols, tick)),
        producer.signature("wagehood.compute_indicators"),
        producer.signature("wagehood.evaluate_strategies"),
    ).apply_async()


def stored_signals(store: RedisStore, symbol: str) -> list[dict[str, Any]]:
    """Return the signals stored for ``symbol``, oldest first, as their JSON records."""
    return [json.loads(f["data"]) for _, f in store.stream_range(keys.symbol_signals(symbol))]


def replayed_signals(ctx: PipelineContext, bars: Sequence[Bar]) -> list[dict[str, Any]]:
    """Return the signals an offline replay of ``bars`` gives with ``ctx``'s configuration."""
    specs = merge_specs(ctx.config.indicators, ctx.config.strategy_set)
    rows = replay(bars, specs, ctx.config.strategy_set)
    return [signal.to_dict() for row in rows for signal in row.signals]
