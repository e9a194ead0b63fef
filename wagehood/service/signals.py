"""Strategy evaluation on closed bars, exactly once per bar, in bar order.

For each symbol and timeframe a small hash keeps ``last_eval`` (the last bar time strategies
ran on) and a version. A step reads it, evaluates every stored bar after it up to the bar it
was told about (so a step that ran late, or a redelivered one, catches up without gaps), and
commits the signals together with the new ``last_eval`` under the version guard. The same
hash keeps the look-back window as a ring of packed snapshots, so a live close reads one new
bar, not a window of the bars stream.
"""

from __future__ import annotations

import base64
import json
import random
import struct
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from wagehood.errors import TemporaryError
from wagehood.service import alert_rules, barstore, plugins
from wagehood.service.pipeline import BarRef, PipelineContext, group_refs
from wagehood.storage import keys
from wagehood.storage.redis_store import Commit
from wagehood.types import Bar, Signal, Snapshot, Timeframe

MAX_ATTEMPTS = 8
SIGNALS_MAXLEN = 10_000


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
        history = [*before, *fresh]
        signals = _evaluate_new(ctx, history, len(fresh))
        old = historical_times(new)
        commit = _commit(symbol, tf, state, fresh, signals, historical=old)
        if fresh:
            kept = state["ring"] if index in ringed else None
            ring = {"ring": pack_ring(history, columns, keep, kept), "ring_keep": str(keep)}
            commit.hset[commit.guard_key].update(ring, ring_columns=",".join(columns))
        alert_rules.add_to_commit(
            alerts, commit, state, history, signals, new=len(fresh), historical=old
        )
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
    ring: tuple[int, tuple[str, ...]],
) -> tuple[list[list[Snapshot]], set[int]]:
    # The look-back before the first new bar: the ring of snapshots the last evaluation kept
    # (up to last_eval), read from the stream only where there is no usable ring (a state
    # from before the ring, or a configuration that now looks further back). Needed only
    # where there are new bars. Also returns the indices whose look-back came from the ring.
    keep, columns = ring
    befores: list[list[Snapshot]] = [[] for _ in items]
    wanted: list[int] = []
    ringed: set[int] = set()
    for index, (state, new) in enumerate(zip(states, news, strict=True)):
        if not (new and state.get("last_eval")):
            continue
        kept = read_ring(*items[index][0], state, keep, columns)
        if kept is None:
            wanted.append(index)
        else:
            befores[index] = kept
            ringed.add(index)
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


# The look-back ring: the last ``keep`` evaluated snapshots as fixed-size records
# ``<time, mask of None values, open, high, low, close, volume, value per column>`` of
# IEEE-754 doubles (exact), base64 in one hash field, the columns in another. Reading it is
# one decode and one ``struct`` pass, not a text number per value.


def _record(columns: tuple[str, ...]) -> struct.Struct:
    return struct.Struct(f"<qQ{5 + len(columns)}d")


def pack_ring(
    history: Sequence[Snapshot], columns: tuple[str, ...], keep: int, kept: str | None = None
) -> str:
    """Return the ring field of the last ``keep`` of ``history`` (values of ``columns``).

    ``kept`` is the ring field ``history`` started from, if it did: its records are reused
    and only the snapshots after them are packed.
    """
    record = _record(columns)
    out = bytearray(base64.b64decode(kept)) if kept else bytearray()
    for snapshot in history[len(out) // record.size if kept else -keep :]:
        bar, values = snapshot.bar, snapshot.values
        row = [values.get(name) for name in columns]
        mask = sum(1 << i for i, value in enumerate(row) if value is None)
        filled = [0.0 if value is None else value for value in row]
        out += record.pack(
            bar.time, mask, bar.open, bar.high, bar.low, bar.close, bar.volume, *filled
        )
    return base64.b64encode(bytes(out[-keep * record.size :])).decode("ascii")


def unpack_ring(symbol: str, tf: Timeframe, text: str, columns: tuple[str, ...]) -> list[Snapshot]:
    """Invert ``pack_ring``."""
    snapshots = []
    for record in _record(columns).iter_unpack(base64.b64decode(text)):
        values: dict[str, float | None] = dict(zip(columns, record[7:], strict=True))
        mask = record[1]
        if mask:
            for index, name in enumerate(columns):
                if mask >> index & 1:
                    values[name] = None
        t, _, o, h, low, c, v = record[:7]
        snapshots.append(Snapshot(Bar(symbol, tf, t, o, h, low, c, v), values))
    return snapshots


def read_ring(
    symbol: str, tf: Timeframe, state: Mapping[str, str], keep: int, columns: tuple[str, ...]
) -> list[Snapshot] | None:
    """Return the ring's snapshots, or ``None`` if it is missing, stale, short or of other columns."""
    text, cap = state.get("ring"), state.get("ring_keep")
    if not text or not cap or int(cap) < keep or state.get("ring_columns") != ",".join(columns):
        return None
    snapshots = unpack_ring(symbol, tf, text, columns)
    if not snapshots or snapshots[-1].bar.time != int(state["last_eval"]):
        return None
    return snapshots


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
