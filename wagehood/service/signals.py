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
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from wagehood.errors import TemporaryError
from wagehood.service import alert_rules
from wagehood.service.pipeline import (
    HISTORICAL,
    BarRef,
    PipelineContext,
    decode_snapshot,
    group_refs,
)
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
    alerts = alert_rules.load_plan(ctx.store)
    news = ctx.store.pipeline_reads(
        [
            _new_bars_read(symbol, tf, end, state)
            for ((symbol, tf), end), state in zip(items, states, strict=True)
        ]
    )
    befores = _lookbacks(ctx, items, states, news)
    commits, all_signals = [], []
    for ((symbol, tf), _), state, new, before in zip(items, states, news, befores, strict=True):
        history = [decode_snapshot(symbol, tf, i, f) for i, f in [*reversed(before), *new]]
        signals = _evaluate_new(ctx, history, len(new))
        old = historical_times(new)
        commit = _commit(
            symbol, tf, state, history[-len(new) :] if new else [], signals, historical=old
        )
        alert_rules.add_to_commit(
            alerts, commit, state, history, signals, new=len(new), historical=old
        )
        commits.append(commit)
        all_signals.append(signals)
    return commits, all_signals


def historical_times(entries: Iterable[tuple[str, dict[str, str]]]) -> frozenset[int]:
    """Return the times of the bars-stream entries applied from provider history."""
    return frozenset(int(i.split("-", 1)[0]) for i, fields in entries if fields.get(HISTORICAL))


def record(signal: Signal, historical: Collection[int]) -> dict[str, Any]:
    """Return a signal's stored record; one on a historical bar says so."""
    data = signal.to_dict()
    if signal.time in historical:
        data["historical"] = True
    return data


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
) -> list[Any]:
    # The look-back before the first new bar, read only where there are new bars: a catch-up
    # reference for a symbol whose quote did not change (a real feed between trades) then
    # costs one short XRANGE instead of a window of bars to read and decode.
    lookback = ctx.config.strategy_set.lookback
    wanted = [
        index
        for index, (state, new) in enumerate(zip(states, news, strict=True))
        if new and state.get("last_eval")
    ]
    reads = [
        (
            "xrevrange",
            (
                keys.bars(*items[i][0]),
                keys.bar_id(int(states[i]["last_eval"])),
                "-",
                max(lookback - 1, 2),
            ),
        )
        for i in wanted
    ]
    befores: list[Any] = [[] for _ in items]
    for index, found in zip(wanted, ctx.store.pipeline_reads(reads) if reads else [], strict=True):
        befores[index] = found
    return befores


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
    *,
    historical: Collection[int],
) -> Commit:
    # A signal on a historical bar is stored (the chart shows it) but not published as new.
    key = keys.strategy_state(symbol, tf)
    commit = Commit(key, state.get("ver", "0"))
    if new_bars:
        commit.hset[key] = {"last_eval": str(new_bars[-1].bar.time)}
    for signal in signals:
        data = record(signal, historical)
        fields = {"data": json.dumps(data, separators=(",", ":"))}
        commit.xadd.append((keys.symbol_signals(symbol), "*", SIGNALS_MAXLEN, fields))
        commit.xadd.append((keys.SIGNALS, "*", SIGNALS_MAXLEN, {"symbol": symbol, **fields}))
        if not data.get("historical"):
            commit.updates.append(("signal", symbol, data))
    return commit
