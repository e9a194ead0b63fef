"""Strategy evaluation on closed bars read from the bars stream, exactly once, in bar order.

A live close is evaluated by the compute step itself, in the commit of its indicators
(``evaluation.InlineEvaluator``). This step is for the rest: bars applied by a warm-up, a
gap fill or a backfill, and a redelivered compute step's catch-up. For each symbol and
timeframe a small hash keeps ``last_eval`` (the last bar time strategies ran on) and a
version. A step reads it, evaluates every stored bar after it up to the bar it was told about
(so a step that ran late, or a redelivered one, catches up without gaps), and commits the
signals together with the new ``last_eval`` under the version guard. The same hash keeps the
look-back window as a ring of packed snapshots, so the step reads only the new bars.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from typing import Any

from wagehood.errors import TemporaryError
from wagehood.history import concat
from wagehood.service import alert_rules, barstore, plugins
from wagehood.service.evaluation import Step, evaluate_step, read_ring
from wagehood.service.pipeline import BarRef, PipelineContext, group_refs
from wagehood.storage import keys
from wagehood.storage.redis_store import Commit
from wagehood.types import Signal, Snapshot, Timeframe

MAX_ATTEMPTS = 8


def evaluate_strategies(ctx: PipelineContext, refs: Iterable[BarRef]) -> list[Signal]:
    """Evaluate the enabled strategies on every not-yet-evaluated bar named by ``refs``."""
    pending = group_refs(refs)
    produced: list[Signal] = []
    for attempt in range(MAX_ATTEMPTS):
        if not pending:
            plugins.record(ctx.store)  # plugin strategies' failures and trips, if any
            return produced
        if attempt:
            time.sleep(random.uniform(0, 0.002 * attempt))  # let the winner finish its step
        items = sorted(pending.items(), key=lambda kv: (kv[0][0], kv[0][1].seconds))
        commits, signals = _plan(ctx, items)
        won = ctx.store.commit_many(commits)
        retry = {}
        for ok, (key, end), found in zip(won, items, signals, strict=True):
            if ok:
                produced += found
            else:
                retry[key] = end
        pending = retry
    raise TemporaryError("strategy state kept changing under us; retry")


def _plan(
    ctx: PipelineContext, items: list[tuple[tuple[str, Timeframe], int | None]]
) -> tuple[list[Commit], list[list[Signal]]]:
    # One round trip: every strategy state (with its look-back ring), the last two stored
    # bars up to the one named (the new bar and the one before it, enough when strategies
    # are one bar behind, as they are live), the engine's last values (those of the new
    # bar, live) and the alert rules.
    count = len(items)
    results = ctx.store.pipeline_reads(
        [("hgetall", (keys.strategy_state(s, tf),)) for (s, tf), _ in items]
        + [_tail_read(symbol, tf, end) for (symbol, tf), end in items]
        + [("hmget", (keys.engine(s, tf), "last_bar_time", "values")) for (s, tf), _ in items]
        + list(alert_rules.PLAN_READS)
    )
    states: list[dict[str, str]] = results[:count]
    lasts = results[2 * count : 3 * count]
    alerts = alert_rules.plan_from(*results[3 * count :])
    news = _new_bars(ctx, items, states, results[count : 2 * count])
    keep = max(ctx.config.strategy_set.lookback, 3)
    columns = tuple(alert_rules.columns(ctx.config))  # every column: rules may read any
    befores, ringed = _lookbacks(ctx, items, states, news, (keep, columns))
    commits, all_signals = [], []
    for index, (((symbol, tf), _), state, new, before, last) in enumerate(
        zip(items, states, news, befores, lasts, strict=True)
    ):
        # The new bars' snapshots: fewer than ``new`` only if a full stream's oldest were
        # trimmed away since they were read.
        fresh = barstore.snapshots(ctx.store, symbol, tf, new, barstore.last_values(last))
        history = concat(before, fresh)
        kept = ringed.get(index)
        step = Step(symbol, tf, state, history, len(fresh), historical_times(new))
        ring = (keep, columns, kept)
        commit, signals = evaluate_step(ctx.config, alerts, step, ring, ctx.signals_maxlen)
        commits.append(commit)
        all_signals.append(signals)
    return commits, all_signals


def _tail_read(symbol: str, tf: Timeframe, end: int | None) -> tuple[str, tuple[Any, ...]]:
    return (
        "xrevrange",
        (keys.bars(symbol, tf), keys.bar_id(end) if end is not None else "+", "-", 2),
    )


def _new_bars(
    ctx: PipelineContext,
    items: list[tuple[tuple[str, Timeframe], int | None]],
    states: list[dict[str, str]],
    tails: list[Any],
) -> list[Any]:
    # The bars after last_eval up to the one named: the tail read holds them when it reaches
    # back to last_eval (or to the stream's start); otherwise they are read now.
    news: list[Any] = []
    missing = []
    for index, (state, tail) in enumerate(zip(states, tails, strict=True)):
        last = state.get("last_eval")
        oldest = int(tail[-1][0].split("-")[0]) if tail else 0
        if len(tail) < 2 or (last and int(last) >= oldest):
            after = int(last) if last else -1
            news.append([e for e in reversed(tail) if int(e[0].split("-")[0]) > after])
        else:
            news.append(None)
            missing.append(index)
    reads = [_new_bars_read(*items[i][0], items[i][1], states[i]) for i in missing]
    for index, found in zip(missing, ctx.store.pipeline_reads(reads) if reads else [], strict=True):
        news[index] = found
    return news


def historical_times(entries: Iterable[tuple[str, dict[str, str]]]) -> frozenset[int]:
    """Return the times of the bars-stream entries applied from provider history."""
    return frozenset(
        barstore.entry_time(i) for i, fields in entries if barstore.is_historical(fields)
    )


def _new_bars_read(
    symbol: str, tf: Timeframe, end: int | None, state: dict[str, str]
) -> tuple[str, tuple[Any, ...]]:
    # The bars after last_eval, up to the one named (or the latest).
    last = state.get("last_eval")
    start = f"({keys.bar_id(int(last))}" if last else "-"
    return ("xrange", (keys.bars(symbol, tf), start, keys.bar_id(end) if end is not None else "+"))


def _lookbacks(
    ctx: PipelineContext,
    items: list[tuple[tuple[str, Timeframe], int | None]],
    states: list[dict[str, str]],
    news: list[Any],
    ring: tuple[int, tuple[str, ...]],
) -> tuple[list[Sequence[Snapshot]], dict[int, bytes]]:
    # The look-back before the first new bar: the ring of snapshots the last evaluation kept
    # (up to last_eval), read from the stream only where there is no usable ring (a state
    # from before the ring, or a configuration that now looks further back). Needed only
    # where there are new bars. Also returns the rings (their records) the look-backs of
    # these indices came from.
    keep, columns = ring
    befores: list[Sequence[Snapshot]] = [[] for _ in items]
    wanted: list[int] = []
    ringed: dict[int, bytes] = {}
    for index, (state, new) in enumerate(zip(states, news, strict=True)):
        if not (new and state.get("last_eval")):
            continue
        kept = read_ring(*items[index][0], state, keep, columns)
        if kept is None:
            wanted.append(index)
        else:
            befores[index], ringed[index] = kept
    reads = [
        (
            "xrevrange",
            (keys.bars(*items[i][0]), keys.bar_id(int(states[i]["last_eval"])), "-", keep - 1),
        )
        for i in wanted
    ]
    for index, found in zip(wanted, ctx.store.pipeline_reads(reads) if reads else [], strict=True):
        symbol, tf = items[index][0]
        befores[index] = barstore.snapshots(ctx.store, symbol, tf, list(reversed(found)))
    return befores, ringed
