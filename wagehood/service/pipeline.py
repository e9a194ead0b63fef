"""The pipeline's use cases: quotes -> bars -> indicators -> strategies, exactly once.

Every step follows the same shape: load the state of a batch of symbols in one round trip,
compute with the pure domain code, and write each symbol's result with one guarded commit
(``RedisStore.commit_many``, one round trip for the batch). A symbol whose guard moved in the
meantime (another worker got there first) is reloaded and recomputed; the tick-time and
bar-time guards make a repeated step a no-op. See docs/architecture.md.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wagehood.bars import BarAggregator
from wagehood.engine import Engine, merge_specs, specs_fingerprint
from wagehood.errors import TemporaryError
from wagehood.service import barstore, evaluation, plugins
from wagehood.service.config import RuntimeConfig
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import Commit, RedisStore
from wagehood.types import Bar, Quote, Snapshot, Timeframe

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CLOSES_PER_ROUND = 150  # symbol-timeframe bar closes loaded and committed in one round
# Field of the live hash set while a warm-up or gap fill owns the symbol's closed bars.
SYNCING = "sync"
# A closed-bar reference passed down the chain: [symbol, timeframe, bar time or None = latest].
BarRef = list[Any]


@dataclass
class PipelineContext:
    """What a pipeline step needs: the store, the runtime config and the stream caps."""

    store: RedisStore
    config: RuntimeConfig
    streams_maxlen: int = 10_000
    signals_maxlen: int = 1_000  # per symbol (REDIS_SIGNALS_MAXLEN)

    @classmethod
    def of(cls, store: RedisStore, config: RuntimeConfig, settings: Settings) -> PipelineContext:
        """Return the context with the stream caps of ``settings``."""
        return cls(store, config, settings.redis_streams_maxlen, settings.redis_signals_maxlen)


@dataclass
class _SymbolStep:
    symbol: str
    version: str
    live: dict[str, str]
    closed: dict[Timeframe, list[Bar]] = field(default_factory=dict)
    frames: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    duplicate: bool = False
    historical: bool = False


@dataclass
class Processed:
    """What a compute step did: the bars that closed, and those left to ``evaluate_strategies``."""

    refs: list[BarRef] = field(default_factory=list)
    pending: list[BarRef] = field(default_factory=list)
    outbox: int = 0  # delivery events written to the outbox with the evaluated signals


def process_quotes(ctx: PipelineContext, quotes: Sequence[Quote]) -> list[BarRef]:
    """Run ``apply_quotes`` and return the references to the bars that closed."""
    return apply_quotes(ctx, quotes).refs


def apply_quotes(ctx: PipelineContext, quotes: Sequence[Quote]) -> Processed:
    """Aggregate quotes into bars, apply closed bars to indicators, and commit per symbol.

    A closed bar's strategies and alert rules are evaluated in the same commit when they
    are up to date with the engine (a live close); ``pending`` references the others, for
    ``evaluate_strategies``. A symbol whose quotes were all seen before (a redelivered task)
    is pending as ``[symbol, tf, None]`` so that strategy evaluation catches up on whatever
    an interrupted run left behind.
    """
    by_symbol: dict[str, list[Quote]] = defaultdict(list)
    for quote in sorted(quotes, key=lambda q: (q.symbol, q.time)):
        by_symbol[quote.symbol].append(quote)
    return _run_guarded(
        ctx,
        sorted(by_symbol),
        lambda s, live: _aggregate(ctx, s, live, by_symbol[s]),
        inline=True,
    )


def apply_bars(
    ctx: PipelineContext,
    symbol: str,
    timeframe: Timeframe,
    bars: Sequence[Bar],
    *,
    historical: bool = False,
) -> list[BarRef]:
    """Apply already-closed bars (a backfill) to one symbol and timeframe, in order, once each.

    ``historical`` bars (a warm-up or gap fill) are stored with the field ``hist`` so that
    strategy evaluation keeps their signals for the chart but delivers none of them.
    """

    def plan(sym: str, live: dict[str, str]) -> _SymbolStep:
        step = _SymbolStep(sym, live.get("ver", "0"), {}, historical=historical)
        step.closed[timeframe] = list(bars)
        return step

    return _run_guarded(ctx, [symbol], plan, inline=False).refs


def _run_guarded(
    ctx: PipelineContext, symbols: Sequence[str], plan: Any, *, inline: bool
) -> Processed:
    pending = list(symbols)
    done = Processed()
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, 0.002 * attempt))  # let the winner finish its step
        lives = ctx.store.hgetall_many([keys.live(s) for s in pending])
        steps = [plan(symbol, live) for symbol, live in zip(pending, lives, strict=True)]
        pending = []
        for group in _groups(steps):
            commits, results = _build_commits(ctx, group, inline=inline)
            won = ctx.store.commit_many(commits)
            for ok, result in zip(won, results, strict=True):
                if ok:
                    done.refs += result.refs
                    done.pending += result.pending
                    done.outbox += result.outbox
            pending += [step.symbol for step, ok in zip(group, won, strict=True) if not ok]
        if not pending:
            plugins.record(ctx.store)  # plugin indicators' and strategies' failures, if any
            return done
    raise TemporaryError(f"state of {', '.join(pending)} kept changing under us; retry")


def _groups(steps: list[_SymbolStep]) -> Iterator[list[_SymbolStep]]:
    # Consecutive steps with at most CLOSES_PER_ROUND bar closes between them (a step with
    # more goes alone): each group is loaded, evaluated and committed before the next, so a
    # task's memory stays bounded when every symbol's 1m, 5m and 1h bars close at once.
    group: list[_SymbolStep] = []
    closes = 0
    for step in steps:
        count = len(step.closed)
        if group and closes + count > CLOSES_PER_ROUND:
            yield group
            group, closes = [], 0
        group.append(step)
        closes += count
    if group:
        yield group


def _aggregate(
    ctx: PipelineContext, symbol: str, live: dict[str, str], quotes: list[Quote]
) -> _SymbolStep:
    step = _SymbolStep(symbol, live.get("ver", "0"), live)
    timeframes = ctx.config.timeframes
    aggregators = {
        tf: BarAggregator.from_state(symbol, tf, live, tf.value + ".") for tf in timeframes
    }
    accepted = None
    for quote in quotes:
        for tf, aggregator in aggregators.items():
            bar = aggregator.on_quote(quote)
            if bar is not None:
                step.closed.setdefault(tf, []).append(bar)
        if aggregators[timeframes[0]].last_tick == quote.time:
            accepted = quote
    if live.get(SYNCING):
        # A warm-up or gap fill is applying the provider's history of this symbol: the bars
        # that close meanwhile are in that history, so they are left to it (the ticks still
        # build the bar in progress, which continues after the history).
        step.closed.clear()
    if accepted is None:
        step.duplicate = True
        return step
    state = {
        "price": repr(accepted.price),
        "time": repr(accepted.time),
        "updated_at": repr(time.time()),
    }
    for tf, aggregator in aggregators.items():
        state.update(aggregator.to_state(tf.value + "."))
    # Only the fields that changed: the commit is guarded by the version loaded with ``live``,
    # so the hash it writes to still holds every other field unchanged.
    step.live = {key: value for key, value in state.items() if live.get(key) != value}
    current = aggregators[timeframes[0]].current
    step.frames.append(("bar", symbol, _bar_frame(accepted, current)))
    return step


def _build_commits(
    ctx: PipelineContext, steps: list[_SymbolStep], *, inline: bool
) -> tuple[list[Commit], list[Processed]]:
    wanted = [(s.symbol, tf) for s in steps for tf in s.closed]
    extra = evaluation.inline_reads(wanted) if inline and wanted else []
    engines, loaded = _load_engines(ctx, wanted, extra)
    evaluate = (
        evaluation.InlineEvaluator(ctx.config, wanted, loaded, ctx.signals_maxlen)
        if extra
        else None
    )
    commits: list[Commit] = []
    results: list[Processed] = []
    for step in steps:
        commit = Commit(keys.live(step.symbol), step.version)
        result = Processed()
        if step.duplicate:
            result.refs = [[step.symbol, tf.value, None] for tf in ctx.config.timeframes]
            result.pending = list(result.refs)
        else:
            commit.hset[keys.live(step.symbol)] = dict(step.live)
        commit.updates += step.frames
        for tf, bars in step.closed.items():
            engine, log = engines[(step.symbol, tf)]
            previous, applied = engine.last_bar_time, list[Snapshot]()
            refs = _apply_closed(
                ctx, commit, engine, log, bars, historical=step.historical, snapshots=applied
            )
            result.refs += refs
            if evaluate is None or not evaluate(commit, step.symbol, tf, previous, applied):
                result.pending += refs
        result.outbox = len(commit.hset.get(keys.OUTBOX, ()))
        commits.append(commit)
        results.append(result)
    return commits, results


def _apply_closed(
    ctx: PipelineContext,
    commit: Commit,
    engine: Engine,
    log: barstore.CheckpointLog,
    bars: list[Bar],
    *,
    historical: bool,
    snapshots: list[Snapshot] | None = None,
) -> list[BarRef]:
    applied, encoded = barstore.apply_closed(commit, engine, log, bars, historical=historical)
    if not applied:
        return []
    if snapshots is not None:
        snapshots += applied
    snapshot = applied[-1]
    state = engine.state_changes()  # only what this bar changed
    state["values"] = json.dumps(dict(snapshot.values), separators=(",", ":"))
    state["bar"] = encoded  # the bar alone, as ``queries.indicators`` reads it
    barstore.add_checkpoints(commit, engine, log, state, ctx.streams_maxlen)
    name = keys.engine(engine.symbol, engine.timeframe)
    commit.hset[name] = state
    stale = engine.stale_fields()  # a version-1 state being migrated
    if stale:
        commit.hdel[name] = stale
    commit.updates.append(("indicators", engine.symbol, indicator_frame(engine, snapshot)))
    return [[s.bar.symbol, s.bar.timeframe.value, s.bar.time] for s in applied]


def _load_engines(
    ctx: PipelineContext,
    wanted: list[tuple[str, Timeframe]],
    extra: Sequence[tuple[str, tuple[Any, ...]]] = (),
) -> tuple[dict[tuple[str, Timeframe], tuple[Engine, barstore.CheckpointLog]], list[Any]]:
    # The engine states (with their checkpoint logs) of ``wanted`` and the ``extra`` reads, in
    # one round trip; returns the engines and the results of ``extra``.
    specs = merge_specs(ctx.config.indicators, ctx.config.strategy_set)
    fingerprint = specs_fingerprint(specs)
    reads = [("hgetall", (keys.engine(s, tf),)) for s, tf in wanted]
    results = ctx.store.pipeline_reads([*reads, *extra]) if wanted or extra else []
    states: list[dict[str, str]] = results[: len(wanted)]
    engines = {}
    cold = []
    for (symbol, tf), state in zip(wanted, states, strict=True):
        if state and state.get("specs") == fingerprint:
            engine = Engine.from_state(symbol, tf, state)
            engines[(symbol, tf)] = (engine, barstore.engine_log(engine))
        else:
            cold.append((symbol, tf, state))
    # Engines seen for the first time (every symbol's first bar; their streams are empty or
    # short) read their stored bars in one round trip for all of them. After a config change
    # each engine reads its own, possibly long, history, so at most one is held at a time.
    fresh = [(symbol, tf) for symbol, tf, state in cold if not state]
    histories = ctx.store.pipeline_reads(
        [("xrange", (keys.bars(symbol, tf), "-", "+")) for symbol, tf in fresh]
    )
    prefetched = dict(zip(fresh, histories, strict=True))
    for symbol, tf, state in cold:
        entries = prefetched.get((symbol, tf))
        engines[(symbol, tf)] = rewarm(ctx, symbol, tf, specs, state, entries=entries)
    return engines, results[len(wanted) :]


def rewarm(
    ctx: PipelineContext,
    symbol: str,
    tf: Timeframe,
    specs: Mapping[str, str],
    state: Mapping[str, str],
    *,
    entries: Sequence[tuple[str, Mapping[str, str]]] | None = None,
) -> tuple[Engine, barstore.CheckpointLog]:
    """Return an engine for ``specs`` warmed from the bars kept in the stream, and its checkpoints.

    Used the first time a symbol and timeframe is seen (empty stream: a fresh engine) and
    when the indicator configuration changed (recomputed from stored history; the checkpoints
    of the old configuration are replaced by the ones taken on the way). ``entries`` are the
    stream's entries if the caller already read them.
    """
    engine = Engine.new(symbol, tf, specs)
    if entries is None:
        entries = ctx.store.stream_range(keys.bars(symbol, tf))
    # The engine keeps counting from the stored count: checkpoints are taken where that
    # count is a multiple of CHECKPOINT_EVERY, as the live commits take them.
    shift = max(0, int(state.get("bars_processed", "0")) - len(entries)) if state else 0
    log = barstore.CheckpointLog(rebuild=True)
    log.mark(engine)
    for entry_id, fields in entries:
        engine.apply(barstore.decode(symbol, tf, entry_id, fields).bar)
        if (engine.bars_processed + shift) % barstore.CHECKPOINT_EVERY == 0:
            log.mark(engine)
    engine.bars_processed += shift
    log.shift(shift)
    if state:
        engine.saved = state  # what the hash holds: the save writes over it, drops ``ind.*``
    if state or engine.bars_processed:
        logger.info("re-warmed %s %s from %d stored bars", symbol, tf.value, engine.bars_processed)
    return engine, log


def indicator_frame(engine: Engine, snapshot: Snapshot) -> dict[str, Any]:
    """Return the update frame published when a bar closes."""
    return {
        "symbol": engine.symbol,
        "timeframe": engine.timeframe.value,
        "bar_time": snapshot.bar.time,
        "bars_processed": engine.bars_processed,
        "bar": snapshot.bar.to_dict(),
        "indicators": dict(snapshot.values),
    }


def _bar_frame(quote: Quote, bar: Bar | None) -> dict[str, Any]:
    return {
        "symbol": quote.symbol,
        "price": quote.price,
        "time": quote.time,
        "bar": bar.to_dict() if bar is not None else None,
        "timeframe": bar.timeframe.value if bar is not None else None,
    }


def group_refs(refs: Iterable[BarRef]) -> dict[tuple[str, Timeframe], int | None]:
    """Collapse bar references to the latest bar time per symbol and timeframe (None = latest)."""
    latest: dict[tuple[str, Timeframe], int | None] = {}
    for symbol, tf, bar_time in refs:
        key = (symbol, Timeframe(tf))
        if key in latest and (latest[key] is None or bar_time is None):
            latest[key] = None
        else:
            latest[key] = (
                max(bar_time, latest.get(key) or bar_time) if bar_time is not None else None
            )
    return latest
