"""The bars streams: closed bars in a compact exact encoding, and the values recomputed from them.

A closed bar is one stream entry (id ``<bar time>-1``) with one field, ``b``: the ``repr`` of
open, high, low, close and volume (an integral value without its ``.0``) joined by commas,
plus ``,h`` when the bar was applied from provider history (a warm-up or gap fill). ``repr``
reads back bit for bit and is short for market prices. The indicator values are not stored
per bar: they are recomputed, with the engine's own code, from checkpoints.

Every ``CHECKPOINT_EVERY`` applied bars the commit also appends the engine's packed state,
deflated and tagged with a digest of the indicator specs, to the checkpoints stream (id
``<last applied bar time>-1``; ``0-1`` is an engine that has applied nothing of the stream).
The engine hash keeps where they are (``ckpts``: ``<bars processed>:<bar time>``, oldest
first). The bars stream is trimmed to the newest checkpoint that still leaves
``REDIS_STREAMS_MAXLEN`` bars after it, so every kept bar has a checkpoint before it; a read
replays at most ``CHECKPOINT_EVERY`` bars before the ones it answers.

Entries written by earlier versions (fields ``o h l c v ind`` and ``hist``) keep answering
their stored values; the first bar after the upgrade checkpoints the engine as loaded, so
the bars after it are recomputed from there (tests/service/test_barstore.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wagehood.engine import Engine
from wagehood.indicators.registry import IndicatorSet
from wagehood.storage import keys
from wagehood.storage.redis_store import Commit, RedisStore
from wagehood.types import Bar, Snapshot, Timeframe

CHECKPOINT_EVERY = 256
BAR_FIELD = "b"
_HISTORICAL = "h"
# Fields of an entry written before the compact encoding.
_LEGACY_VALUES = "ind"
_LEGACY_HISTORICAL = "hist"
# Engine-hash field listing the checkpoints.
LOG_FIELD = "ckpts"

Values = Mapping[str, float | None]
Entry = tuple[str, Mapping[str, str]]


def encode_bar(bar: Bar, historical: bool) -> dict[str, str]:
    """Return the stream fields of a closed bar."""
    text = ",".join(map(_number, (bar.open, bar.high, bar.low, bar.close, bar.volume)))
    return {BAR_FIELD: f"{text},{_HISTORICAL}" if historical else text}


def _number(x: float) -> str:
    # ``repr`` reads back bit for bit; an integral value (a volume) without its ".0" too.
    text = repr(x)
    return text[:-2] if text.endswith(".0") else text


def entry_time(entry_id: str) -> int:
    """Return the bar time of a bars-stream (or checkpoints-stream) entry id."""
    return int(entry_id.split("-", 1)[0])


@dataclass(frozen=True, slots=True)
class StoredBar:
    """A decoded bars-stream entry; ``values`` only for entries of the earlier encoding."""

    bar: Bar
    historical: bool
    values: Values | None = None


def decode(symbol: str, tf: Timeframe, entry_id: str, fields: Mapping[str, str]) -> StoredBar:
    """Decode a bars-stream entry of either encoding."""
    time = entry_time(entry_id)
    text = fields.get(BAR_FIELD)
    if text is not None:
        parts = text.split(",")
        o, h, low, c, v = (float(x) for x in parts[:5])
        return StoredBar(Bar(symbol, tf, time, o, h, low, c, v), len(parts) > 5)
    o, h, low, c, v = (float(fields[k]) for k in "ohlcv")
    values = json.loads(fields[_LEGACY_VALUES]) if _LEGACY_VALUES in fields else {}
    return StoredBar(
        Bar(symbol, tf, time, o, h, low, c, v), bool(fields.get(_LEGACY_HISTORICAL)), values
    )


def is_historical(fields: Mapping[str, str]) -> bool:
    """Return whether a bars-stream entry was applied from provider history."""
    text = fields.get(BAR_FIELD)
    if text is not None:
        return text.endswith("," + _HISTORICAL)
    return bool(fields.get(_LEGACY_HISTORICAL))


def specs_digest(fingerprint: str) -> str:
    """Return the short tag of a specs fingerprint that checkpoints carry."""
    return hashlib.blake2b(fingerprint.encode(), digest_size=8).hexdigest()


# Writing.


@dataclass
class CheckpointLog:
    """A symbol and timeframe's checkpoints: ``(bars processed, bar time)``, oldest first.

    ``text`` is the engine hash's ``ckpts`` field, parsed only where the marks are needed
    (a checkpoint or a trim is due: once in ``CHECKPOINT_EVERY`` bars). ``added`` are the
    packed states this step appends; ``rebuild`` replaces the stream (an engine re-warmed
    from the stored bars writes all of its checkpoints anew).
    """

    text: str = ""
    added: list[tuple[int, str]] = field(default_factory=list)
    rebuild: bool = False
    _marks: list[tuple[int, int]] | None = field(default=None, repr=False)

    @property
    def marks(self) -> list[tuple[int, int]]:
        """Return the checkpoints as ``(bars processed, bar time)``, oldest first."""
        if self._marks is None:
            self._marks = _parse(self.text)
        return self._marks

    @marks.setter
    def marks(self, value: list[tuple[int, int]]) -> None:
        self._marks = value

    def head(self) -> list[int]:
        """Return the bar counts of the oldest two checkpoints (fewer if there are fewer)."""
        if self._marks is not None:
            return [n for n, _ in self._marks[:2]]
        return [int(item.split(":", 1)[0]) for item in self.text.split(",", 2)[:2] if item]

    def field_text(self) -> str:
        """Return the ``ckpts`` field."""
        return ",".join(f"{n}:{t}" for n, t in self.marks)

    def mark(self, engine: Engine) -> None:
        """Checkpoint ``engine`` as it is now (after its last applied bar)."""
        time = engine.last_bar_time or 0
        self.marks.append((engine.bars_processed, time))
        self.added.append((time, engine.indicators.pack()))

    def shift(self, by: int) -> None:
        """Add ``by`` to every mark's bar count (the engine's count was raised)."""
        self.marks = [(n + by, t) for n, t in self.marks]


def _parse(text: str) -> list[tuple[int, int]]:
    marks = []
    for item in text.split(","):
        if item:
            n, t = item.split(":")
            marks.append((int(n), int(t)))
    return marks


def engine_log(engine: Engine) -> CheckpointLog:
    """Return the checkpoint log an engine's saved hash holds (empty for a new engine)."""
    return CheckpointLog((engine.saved or {}).get(LOG_FIELD) or "")


def apply_closed(
    commit: Commit, engine: Engine, log: CheckpointLog, bars: Sequence[Bar], *, historical: bool
) -> tuple[list[Snapshot], str]:
    """Apply ``bars`` to ``engine``, appending each applied one to the commit.

    Returns the applied bars' snapshots and the last one's ``b`` field (see ``last_bar``).

    Also checkpoints the engine where due (every ``CHECKPOINT_EVERY`` bars, and before the
    first bar of a log that has none: a new engine, or a state saved before checkpoints).
    """
    stream = keys.bars(engine.symbol, engine.timeframe)
    if not log.head():
        log.mark(engine)
    applied = []
    fields: dict[str, str] = {}
    for bar in bars:
        snapshot = engine.apply(bar)
        if snapshot is None:
            continue
        fields = encode_bar(bar, historical)
        commit.xadd.append((stream, keys.bar_id(bar.time), 0, fields))
        if engine.bars_processed % CHECKPOINT_EVERY == 0:
            log.mark(engine)
        applied.append(snapshot)
    return applied, fields.get(BAR_FIELD, "")


def last_bar(symbol: str, tf: Timeframe, time: int, text: str) -> Bar:
    """Return the engine hash's last bar from its ``bar`` field.

    The field is a bars-stream ``b`` value; versions before the compact encoding wrote the
    JSON of the fields ``o h l c v``.
    """
    fields = json.loads(text) if text.startswith("{") else {BAR_FIELD: text}
    return decode(symbol, tf, keys.bar_id(time), fields).bar


def add_checkpoints(
    commit: Commit, engine: Engine, log: CheckpointLog, state: dict[str, str], maxlen: int
) -> None:
    """Add the checkpoints of ``log`` and the trim of both streams to ``commit``.

    ``state`` is the engine-hash fields the commit writes (the log goes there). The bars
    stream keeps every bar after the newest checkpoint that has ``maxlen`` bars after it;
    while none has, it is capped at ``maxlen`` as before (the bars it may drop are then all
    older than the oldest checkpoint: entries of the earlier encoding, with their values).
    """
    symbol, tf = engine.symbol, engine.timeframe
    stream, checkpoints = keys.bars(symbol, tf), keys.checkpoints(symbol, tf)
    changed = log.rebuild or bool(log.added)
    if log.rebuild:
        commit.delete.append(checkpoints)
    if log.added:
        digest = specs_digest(engine.fingerprint)
        for time, packed in log.added:
            fields = {"specs": digest, "state": _compress(packed)}
            # -1: a checkpoint already there at that bar (a log lost with an engine hash
            # rewritten) is kept rather than failing the commit.
            commit.xadd.append((checkpoints, keys.bar_id(time), -1, fields))
    now, head = engine.bars_processed, log.head()
    if now - head[0] < maxlen:
        commit.trim.append((stream, "MAXLEN", str(maxlen)))
    elif len(head) > 1 and now - head[1] >= maxlen:
        marks = log.marks
        keep = max(i for i, (n, _) in enumerate(marks) if now - n >= maxlen)
        oldest = marks[keep][1]
        log.marks = marks[keep:]
        commit.trim += [(stream, "MINID", f"{oldest}-2"), (checkpoints, "MINID", f"{oldest}-1")]
        changed = True
    if changed:
        state[LOG_FIELD] = log.field_text()


def _compress(packed: str) -> str:
    # A packed state (``wagehood.indicators.packing``) deflated, in base64 text. Its text is
    # one character per byte (latin-1; version 1 was ASCII JSON, which latin-1 reads alike).
    return base64.b64encode(zlib.compress(packed.encode("latin-1"), 9)).decode("ascii")


def _decompress(text: str) -> str:
    return zlib.decompress(base64.b64decode(text)).decode("latin-1")


# Reading.


def snapshots(
    store: RedisStore,
    symbol: str,
    tf: Timeframe,
    entries: Sequence[Entry],
    known: Mapping[int, Values] | None = None,
) -> list[Snapshot]:
    """Return the snapshots (bar and indicator values) of bars-stream ``entries``, in order.

    Values of the earlier encoding's entries are their stored ones; ``known`` gives others
    by bar time (the engine hash's last values); the rest are recomputed from the nearest
    checkpoint before them. Entries a concurrent commit trimmed away since they were read
    (the oldest of a full stream) are left out.
    """
    stored = [decode(symbol, tf, i, f) for i, f in entries]
    known = known or {}
    missing = [i for i, s in enumerate(stored) if s.values is None and s.bar.time not in known]
    computed = recompute(store, symbol, tf, stored[missing[0] : missing[-1] + 1]) if missing else {}
    out = []
    for s in stored:
        values = s.values
        if values is None:
            values = known.get(s.bar.time)
            if values is None:
                values = computed.get(s.bar.time)
                if values is None:
                    continue  # trimmed away since it was read
        out.append(Snapshot(s.bar, values))
    return out


def recompute(
    store: RedisStore, symbol: str, tf: Timeframe, stored: Sequence[StoredBar]
) -> dict[int, Values]:
    """Return the indicator values of ``stored`` (consecutive entries of the stream) by bar time.

    Replays, from the newest checkpoint before them whose specs are the engine's, the stored
    bars up to the first of them, then them; without such a checkpoint (the configuration
    changed since), from the stream's start with a new engine, as the live engine's re-warm
    does. Bars trimmed away since they were read (older than the oldest checkpoint) get none.
    """
    first = stored[0].bar.time
    fingerprint, found, before = store.checkpoint_read(
        keys.engine(symbol, tf),
        keys.checkpoints(symbol, tf),
        keys.bars(symbol, tf),
        keys.bar_id(first - 1),
        keys.bar_id(first),
    )
    if fingerprint is None:
        return {}
    specs: dict[str, str] = json.loads(fingerprint)
    engine = Engine.new(symbol, tf, specs)
    if found and found[1].get("specs") == specs_digest(fingerprint):
        engine.indicators = IndicatorSet.unpack(specs, _decompress(found[1]["state"]))
        engine.last_bar_time = entry_time(found[0]) or None
    else:
        before = store.stream_range(keys.bars(symbol, tf), "-", f"({keys.bar_id(first)}")
    for entry_id, fields in before:
        engine.apply(decode(symbol, tf, entry_id, fields).bar)
    out: dict[int, Values] = {}
    for s in stored:
        snapshot = engine.apply(s.bar)
        if snapshot is not None:
            out[snapshot.bar.time] = snapshot.values
    return out


def read(
    store: RedisStore,
    symbol: str,
    tf: Timeframe,
    start: str = "-",
    end: str = "+",
    *,
    count: int | None = None,
) -> list[Snapshot]:
    """Return the snapshots of the stored bars between stream ids ``start`` and ``end``."""
    return snapshots(
        store, symbol, tf, store.stream_range(keys.bars(symbol, tf), start, end, count=count)
    )


def last_values(state: Sequence[Any]) -> dict[int, Values]:
    """Return ``{last bar time: values}`` from an engine hash's ``last_bar_time`` and ``values``."""
    time, values = state
    return {int(time): json.loads(values)} if time and values else {}
