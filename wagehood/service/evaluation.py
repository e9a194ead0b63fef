"""Evaluation of strategies and alert rules on closed bars, and the look-back ring.

Used by both steps that evaluate: ``signals.evaluate_strategies`` (which reads the bars to
evaluate from the bars stream, catching up after a warm-up, a backfill or a redelivery) and
the compute step, which evaluates a live close in the same commit as its indicators
(``InlineEvaluator``). The strategy state of a symbol and timeframe keeps ``last_eval`` and
the look-back window as a ring of packed snapshots, so a live close reads no bars stream.
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from wagehood.history import History, Layout, concat
from wagehood.service import alert_rules
from wagehood.service.config import RuntimeConfig
from wagehood.storage import keys
from wagehood.storage.redis_store import Commit
from wagehood.types import Signal, Snapshot, Timeframe

SIGNALS_MAXLEN = 10_000  # the stream of every symbol's signals (wh:signals)


@dataclass(frozen=True)
class Step:
    """One symbol and timeframe's evaluation, with the strategy state it was loaded with.

    ``history`` is the look-back followed by the ``new`` bars to evaluate; ``historical``
    holds the times of those that came from provider history.
    """

    symbol: str
    timeframe: Timeframe
    state: dict[str, str]
    history: Sequence[Snapshot]
    new: int
    historical: frozenset[int]


def evaluate_step(
    config: RuntimeConfig,
    alerts: alert_rules.EvaluationPlan,
    step: Step,
    ring: tuple[int, tuple[str, ...], bytes | None],
    signals_maxlen: int,
) -> tuple[Commit, list[Signal]]:
    """Evaluate the strategies and alert rules on the new bars of ``step``.

    Returns the guarded commit of their effects (signals, ``last_eval``, the look-back ring,
    rule cooldowns, outbox) and the signals. ``ring`` is the ring's length and columns, and
    the ring's records the look-back came from, if it did (``read_ring``); the symbol's
    signals stream keeps its newest ``signals_maxlen`` (``REDIS_SIGNALS_MAXLEN``).
    """
    keep, columns, kept = ring
    history, new, old = step.history, step.new, step.historical
    signals = _evaluate_new(config, history, new)
    commit = _commit(
        step.symbol,
        step.timeframe,
        step.state,
        history[-new:] if new else [],
        signals,
        historical=old,
        maxlen=signals_maxlen,
    )
    if new:
        fields = commit.hset[commit.guard_key]
        fields["ring"] = pack_ring(history, columns, keep, kept)
        # The ring's length and columns change only with the configuration.
        joined, state = ",".join(columns), step.state
        if state.get("ring_keep") != str(keep) or state.get("ring_columns") != joined:
            fields.update(ring_keep=str(keep), ring_columns=joined)
        if state.get("ring_codec") != RING_CODEC:  # a ring written in base64 before
            fields["ring_codec"] = RING_CODEC
    alert_rules.add_to_commit(alerts, commit, step.state, history, signals, new=new, historical=old)
    return commit, signals


def inline_reads(wanted: Sequence[tuple[str, Timeframe]]) -> list[tuple[str, tuple[Any, ...]]]:
    """Return the reads ``InlineEvaluator`` needs for ``wanted``, to fold into a round trip."""
    states = [("hgetall", (keys.strategy_state(s, tf),)) for s, tf in wanted]
    return [*states, *alert_rules.PLAN_READS]


class InlineEvaluator:
    """Evaluate strategies on bars as the compute step applies them, in the same commit.

    Built from the results of ``inline_reads``. A live close is the common case: the
    strategies have evaluated every bar the engine applied before (``last_eval`` is the
    engine's previous bar) and the look-back ring is current, so the new bars are in hand and
    nothing needs reading from the bars stream. The strategy state's version joins the
    commit's guards, so the bar and its signals are written together exactly once. Any other
    case (strategies behind after a warm-up or backfill, no usable ring) is left to
    ``evaluate_strategies``, which catches up from the stream.
    """

    def __init__(
        self,
        config: RuntimeConfig,
        wanted: Sequence[tuple[str, Timeframe]],
        results: list[Any],
        signals_maxlen: int,
    ) -> None:
        """Keep the loaded strategy states of ``wanted`` and the alert rules."""
        count = len(wanted)
        self.config = config
        self.signals_maxlen = signals_maxlen
        self.states: dict[tuple[str, Timeframe], dict[str, str]] = dict(
            zip(wanted, results[:count], strict=True)
        )
        self.alerts = alert_rules.plan_from(*results[count:])
        self.keep = max(config.strategy_set.lookback, 3)
        self.columns = tuple(alert_rules.columns(config))

    def __call__(
        self,
        commit: Commit,
        symbol: str,
        tf: Timeframe,
        previous: int | None,
        applied: list[Snapshot],
    ) -> bool:
        """Add the evaluation of ``applied`` to ``commit``; return False to leave it to later.

        ``previous`` is the time of the last bar the engine had applied before ``applied``.
        """
        state = self.states[(symbol, tf)]
        last = state.get("last_eval")
        if (int(last) if last else None) != previous:
            return False
        before: Sequence[Snapshot] = []
        kept = None
        if last:
            ring = read_ring(symbol, tf, state, self.keep, self.columns)
            if ring is None:
                return False
            before, kept = ring
        if applied:
            step = Step(symbol, tf, state, concat(before, applied), len(applied), frozenset())
            shape = (self.keep, self.columns, kept)
            evaluated, _ = evaluate_step(self.config, self.alerts, step, shape, self.signals_maxlen)
            commit.merge(evaluated)
        return True


# The look-back ring: the last ``keep`` evaluated snapshots as fixed-size records
# ``<time, mask of None values, open, high, low, close, volume, value per column>`` of
# IEEE-754 doubles (exact), in one hash field, the columns in another. Reading it is one
# decode and one ``struct`` pass, not a text number per value.
#
# The field's text holds one character per byte (latin-1: U+0000-U+00FF), which the client's
# UTF-8 round trip keeps exactly. Both directions are a copy in C, where base64 (rings
# written before ``ring_codec``, still read) took 60-90 us per close for a 9 KB ring.
RING_CODEC = "latin1"


@lru_cache(maxsize=64)
def _record(columns: tuple[str, ...]) -> struct.Struct:
    return struct.Struct(f"<qQ{5 + len(columns)}d")


def pack_ring(
    history: Sequence[Snapshot], columns: tuple[str, ...], keep: int, kept: bytes | None = None
) -> str:
    """Return the ring field of the last ``keep`` of ``history`` (values of ``columns``).

    ``kept`` holds the records of the ring ``history`` started from, if it did
    (``read_ring``): they are reused and only the snapshots after them are packed.
    """
    record = _record(columns)
    out = bytearray(kept) if kept else bytearray()
    for snapshot in history[len(out) // record.size if kept else -keep :]:
        bar, values = snapshot.bar, snapshot.values
        row = [values.get(name) for name in columns]
        mask = sum(1 << i for i, value in enumerate(row) if value is None)
        filled = [0.0 if value is None else value for value in row]
        out += record.pack(
            bar.time, mask, bar.open, bar.high, bar.low, bar.close, bar.volume, *filled
        )
    return out[-keep * record.size :].decode("latin-1")


def ring_bytes(state: Mapping[str, str]) -> bytes:
    """Return the records of the ring field of a strategy state (``pack_ring``'s text)."""
    if state.get("ring_codec") == RING_CODEC:
        return state["ring"].encode("latin-1")
    return binascii.a2b_base64(state["ring"])  # written before ring_codec: base64


def unpack_ring(symbol: str, tf: Timeframe, raw: bytes, columns: tuple[str, ...]) -> History:
    """Return the snapshots of a ring's records (``ring_bytes`` of ``pack_ring``'s field).

    They stay packed until read (``wagehood.history``): a live close reads few of them.
    """
    # The struct fixes each record's length: no need to check it once more.
    return History(Layout(symbol, tf, columns), _record(columns).iter_unpack(raw))


def read_ring(
    symbol: str, tf: Timeframe, state: Mapping[str, str], keep: int, columns: tuple[str, ...]
) -> tuple[History, bytes] | None:
    """Return the ring's snapshots and records, or ``None`` if it is missing, stale, short or
    of other columns."""
    text, cap = state.get("ring"), state.get("ring_keep")
    if not text or not cap or int(cap) < keep or state.get("ring_columns") != ",".join(columns):
        return None
    raw = ring_bytes(state)
    snapshots = unpack_ring(symbol, tf, raw, columns)
    if not snapshots or snapshots[-1].bar.time != int(state["last_eval"]):
        return None
    return snapshots, raw


def _evaluate_new(
    config: RuntimeConfig, history: Sequence[Snapshot], new_count: int
) -> list[Signal]:
    strategies = config.strategy_set
    lookback = strategies.lookback
    signals: list[Signal] = []
    first = len(history) - new_count
    for index in range(first, len(history)):
        window = history[max(0, index + 1 - lookback) : index + 1]
        signals += strategies.evaluate(window)
    return signals


def _commit(
    symbol: str,
    tf: Timeframe,
    state: dict[str, str],
    new_bars: Sequence[Snapshot],
    signals: list[Signal],
    *,
    historical: Collection[int],
    maxlen: int,
) -> Commit:
    # A signal on a historical bar is stored (the chart shows it) but not published as new.
    key = keys.strategy_state(symbol, tf)
    commit = Commit(key, state.get("ver", "0"))
    if new_bars:
        commit.hset[key] = {"last_eval": str(new_bars[-1].bar.time)}
    for signal in signals:
        data = record(signal, historical)
        fields = {"data": json.dumps(data, separators=(",", ":"))}
        commit.xadd.append((keys.symbol_signals(symbol), "*", maxlen, fields))
        commit.xadd.append((keys.SIGNALS, "*", SIGNALS_MAXLEN, {"symbol": symbol, **fields}))
        if not data.get("historical"):
            commit.updates.append(("signal", symbol, data))
    return commit


def record(signal: Signal, historical: Collection[int]) -> dict[str, Any]:
    """Return a signal's stored record; one on a historical bar says so."""
    data = signal.to_dict()
    if signal.time in historical:
        data["historical"] = True
    return data
