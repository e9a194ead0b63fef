"""Strategy evaluation on closed bars, exactly once per bar, in bar order.

For each symbol and timeframe a small hash keeps ``last_eval`` (the last bar time strategies
ran on) and a version. A step reads it, evaluates every stored bar after it up to the bar it
was told about (so a step that ran late, or a redelivered one, catches up without gaps), and
commits the signals together with the new ``last_eval`` under the version guard.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Sequence
from typing import Any

from wagehood.errors import TemporaryError
from wagehood.service import alert_rules
from wagehood.service.pipeline import BarRef, PipelineContext, decode_snapshot, group_refs
from wagehood.storage import keys
from wagehood.storage.redis_store import Commit
from wagehood.types import Signal, Snapshot, Timeframe

MAX_ATTEMPTS = 8
SIGNALS_MAXLEN = 10_000


def evaluate_strategies(ctx: PipelineContext, refs: Iterable[BarRef]) -> list[Signal]:
    """Evaluate the enabled strategies on every not-yet-evaluated bar named by ``refs``."""
    pending = group_refs(refs)
    produced: list[Signal] = []
    for attempt in range(MAX_ATTEMPTS):
        if not pending:
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
    states = ctx.store.hgetall_many([keys.strategy_state(s, tf) for (s, tf), _ in items])
    lookback = ctx.config.strategy_set.lookback
    alerts = alert_rules.load_plan(ctx.store)
    reads: list[tuple[str, tuple[Any, ...]]] = []
    for ((symbol, tf), end), state in zip(items, states, strict=True):
        stop = keys.bar_id(end) if end is not None else "+"
        last = state.get("last_eval")
        if last:
            # the look-back before the first new bar, and the new bars after last_eval
            reads.append(
                (
                    "xrevrange",
                    (keys.bars(symbol, tf), keys.bar_id(int(last)), "-", max(lookback - 1, 2)),
                )
            )
            reads.append(("xrange", (keys.bars(symbol, tf), f"({keys.bar_id(int(last))}", stop)))
        else:
            reads.append(("exists", (keys.bars(symbol, tf),)))
            reads.append(("xrange", (keys.bars(symbol, tf), "-", stop)))
    results = ctx.store.pipeline_reads(reads)
    commits, all_signals = [], []
    for index, (((symbol, tf), _), state) in enumerate(zip(items, states, strict=True)):
        before = results[2 * index] if state.get("last_eval") else []
        new = results[2 * index + 1]
        history = [decode_snapshot(symbol, tf, i, f) for i, f in [*reversed(before), *new]]
        signals = _evaluate_new(ctx, history, len(new))
        commit = _commit(symbol, tf, state, history[-len(new) :] if new else [], signals)
        alert_rules.add_to_commit(alerts, commit, state, history, signals, new=len(new))
        commits.append(commit)
        all_signals.append(signals)
    return commits, all_signals


def _evaluate_new(
    ctx: PipelineContext, history: Sequence[Snapshot], new_count: int
) -> list[Signal]:
    strategies = ctx.config.strategy_set
    lookback = strategies.lookback
    signals: list[Signal] = []
    first = len(history) - new_count
    for index in range(first, len(history)):
        window = history[max(0, index + 1 - lookback) : index + 1]
        signals += strategies.evaluate(list(window))
    return signals


def _commit(
    symbol: str,
    tf: Timeframe,
    state: dict[str, str],
    new_bars: Sequence[Snapshot],
    signals: list[Signal],
) -> Commit:
    key = keys.strategy_state(symbol, tf)
    commit = Commit(key, state.get("ver", "0"))
    if new_bars:
        commit.hset[key] = {"last_eval": str(new_bars[-1].bar.time)}
    for signal in signals:
        fields = {"data": json.dumps(signal.to_dict(), separators=(",", ":"))}
        commit.xadd.append((keys.symbol_signals(symbol), "*", SIGNALS_MAXLEN, fields))
        commit.xadd.append((keys.SIGNALS, "*", SIGNALS_MAXLEN, {"symbol": symbol, **fields}))
        commit.updates.append(("signal", symbol, signal.to_dict()))
    return commit
