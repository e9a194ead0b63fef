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
from collections.abc import Iterable, Mapping, Sequence
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
    # One round trip: every strategy state (with its look-back ring), the last two stored
    # bars up to the one named (the new bar and the one before it, enough when strategies
    # are one bar behind, as they are live) and the alert rules.
    count = len(items)
    results = ctx.store.pipeline_reads(
        [("hgetall", (keys.strategy_state(s, tf),)) for (s, tf), _ in items]
        + [_tail_read(symbol, tf, end) for (symbol, tf), end in items]
        + list(alert_rules.PLAN_READS)
    )
    states: list[dict[str, str]] = results[:count]
    alerts = alert_rules.plan_from(*results[2 * count :])
    news = _new_bars(ctx, items, states, results[count : 2 * count])
    keep = max(ctx.config.strategy_set.lookback, 3)
    befores = _lookbacks(ctx, items, states, news, keep)
    commits, all_signals = [], []
    for ((symbol, tf), _), state, new, (before, lines) in zip(
        items, states, news, befores, strict=True
    ):
        history = [*before, *(decode_snapshot(symbol, tf, i, f) for i, f in new)]
        signals = _evaluate_new(ctx, history, len(new))
        ring = [*lines, *(ring_row(i, f) for i, f in new)][-keep:]
        commit = _commit(symbol, tf, state, history[-len(new) :] if new else [], signals)
        if new:
            commit.hset[commit.guard_key].update(ring="\n".join(ring), ring_keep=str(keep))
        alert_rules.add_to_commit(alerts, commit, state, history, signals, new=len(new))
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
    keep: int,
) -> list[tuple[list[Snapshot], list[str]]]:
    # The look-back before the first new bar: the ring of snapshots the last evaluation kept
    # (up to last_eval), read from the stream only where there is no usable ring (a state
    # from before the ring, or a configuration that now looks further back). Needed only
    # where there are new bars.
    befores: list[tuple[list[Snapshot], list[str]]] = [([], []) for _ in items]
    wanted = []
    for index, (state, new) in enumerate(zip(states, news, strict=True)):
        if not (new and state.get("last_eval")):
            continue
        ring = read_ring(*items[index][0], state, keep)
        if ring is None:
            wanted.append(index)
        else:
            befores[index] = ring
    reads = [
        (
            "xrevrange",
            (keys.bars(*items[i][0]), keys.bar_id(int(states[i]["last_eval"])), "-", keep - 1),
        )
        for i in wanted
    ]
    for index, found in zip(wanted, ctx.store.pipeline_reads(reads) if reads else [], strict=True):
        symbol, tf = items[index][0]
        entries = list(reversed(found))
        befores[index] = (
            [decode_snapshot(symbol, tf, i, f) for i, f in entries],
            [ring_row(i, f) for i, f in entries],
        )
    return befores


# The look-back ring: the last ``keep`` evaluated bars, one line each, written as the bars
# stream holds them ("<id> <o> <h> <l> <c> <v> <indicator JSON>"), so keeping it costs no
# encoding and reading it no Redis entry parsing.


def ring_row(entry_id: str, fields: Mapping[str, str]) -> str:
    """Return the ring line of a bars-stream entry."""
    return " ".join(
        (entry_id, fields["o"], fields["h"], fields["l"], fields["c"], fields["v"], fields["ind"])
    )


def read_ring(
    symbol: str, tf: Timeframe, state: Mapping[str, str], keep: int
) -> tuple[list[Snapshot], list[str]] | None:
    """Return the ring's snapshots and lines, or ``None`` if it is missing, stale or short."""
    text, cap = state.get("ring"), state.get("ring_keep")
    if not text or not cap or int(cap) < keep:
        return None
    snapshots = []
    lines = text.split("\n")
    for line in lines:
        entry_id, o, h, low, c, v, ind = line.split(" ", 6)
        fields = {"o": o, "h": h, "l": low, "c": c, "v": v, "ind": ind}
        snapshots.append(decode_snapshot(symbol, tf, entry_id, fields))
    if snapshots[-1].bar.time != int(state["last_eval"]):
        return None
    return snapshots, lines


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
