"""Warm-up and gap-fill bookkeeping: which symbols need history, when, and how far they got.

A symbol's status is the hash ``wh:{S}:sync``; its lifecycle::

    queued -> warming -> live
                      -> retrying -> warming ...      (provider down: backoff, then again)
                      -> failed   -> warming ...      (unknown symbol, or retries used up)

``due_warmups`` runs with every dispatch (so a symbol added by any path — first start, API,
CLI, dashboard, config change — is queued within one tick): it queues the watched symbols it
has not seen yet, every ``GAP_CHECK_SECONDS`` (and at the first dispatch after a downtime)
queues the symbols whose newest bar is more than one bar behind the clock, and hands out at
most ``WARMUP_CONCURRENCY`` warm-ups at a time. While a symbol is queued or warming, the field
``sync`` of its live hash tells the live pipeline to leave its closed bars to the history
(``pipeline.SYNCING``); the flag is set and cleared with guarded commits, so no live step
that loaded the hash before the change can commit across it. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from functools import partial
from typing import Any

from wagehood.errors import TemporaryError
from wagehood.service import watchlist
from wagehood.service.pipeline import SYNCING
from wagehood.storage import keys
from wagehood.storage.redis_store import Commit, RedisStore, translate_errors
from wagehood.types import Timeframe

GAP_CHECK_SECONDS = 15
MAX_ATTEMPTS = 5
FAILED_RETRY_SECONDS = 300.0
MAX_BACKOFF = 60.0
BAR_FIELDS = ("time", "open", "high", "low", "close", "volume")
_COMMIT_ATTEMPTS = 20
# Symbols one dispatch queues at most: a first start with a thousand new symbols is queued over
# a few dispatches, each well inside the dispatch task's time limit.
QUEUE_BATCH = 200


class SyncState(str, Enum):
    """Where a symbol is in its warm-up or gap fill."""

    QUEUED = "queued"
    WARMING = "warming"
    RETRYING = "retrying"
    LIVE = "live"
    FAILED = "failed"


@dataclass(frozen=True)
class SyncStatus:
    """A symbol's warm-up status as shown by the API, CLI, WebSocket and dashboard."""

    symbol: str
    state: SyncState
    reason: str = ""
    bars_done: int = 0
    bars_total: int = 0
    attempts: int = 0
    error: str = ""
    updated_at: float | None = None
    retry_at: float | None = None

    @property
    def warm(self) -> bool:
        """Return whether the symbol's history is loaded and live bars are applied."""
        return self.state is SyncState.LIVE

    @property
    def progress(self) -> float:
        """Return the share of the history applied, 0..1."""
        if self.state is SyncState.LIVE:
            return 1.0
        return min(1.0, self.bars_done / self.bars_total) if self.bars_total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "state": self.state.value,
            "warm": self.warm,
            "reason": self.reason or None,
            "progress": round(self.progress, 3),
            "bars_done": self.bars_done,
            "bars_total": self.bars_total,
            "attempts": self.attempts,
            "error": self.error or None,
            "updated_at": self.updated_at,
            "retry_at": self.retry_at,
        }

    @classmethod
    def from_hash(cls, symbol: str, raw: Mapping[str, str]) -> SyncStatus:
        """Rebuild a status from its hash (none yet: the next dispatch queues the symbol)."""
        if not raw:
            return cls(symbol, SyncState.QUEUED, "watch")
        return cls(
            symbol,
            SyncState(raw.get("state", "live")),
            raw.get("reason", ""),
            int(raw.get("bars_done", "0")),
            int(raw.get("bars_total", "0")),
            int(raw.get("attempts", "0")),
            raw.get("error", ""),
            _float(raw.get("updated_at")),
            _float(raw.get("retry_at")),
        )


def statuses(store: RedisStore, symbols: Sequence[str]) -> dict[str, SyncStatus]:
    """Return the status of each symbol, in one round trip."""
    raws = store.hgetall_many([keys.sync(s) for s in symbols])
    return {s: SyncStatus.from_hash(s, raw) for s, raw in zip(symbols, raws, strict=True)}


def status(store: RedisStore, symbol: str) -> SyncStatus:
    """Return the status of one symbol."""
    return statuses(store, [symbol])[symbol]


def summary(store: RedisStore, symbols: Sequence[str]) -> dict[str, Any]:
    """Return counts per state and the symbols not live, for ``monitor/stats``."""
    found = statuses(store, symbols)
    counts = {state.value: 0 for state in SyncState}
    for item in found.values():
        counts[item.state.value] += 1
    pending = {s: item.to_dict() for s, item in sorted(found.items()) if not item.warm}
    return {"counts": counts, "symbols": pending}


def watched(store: RedisStore) -> list[dict[str, Any]]:
    """Return the watchlist's entries, each with its warm-up status under ``sync``."""
    found = watchlist.entries(store)
    states = statuses(store, [e.symbol for e in found])
    return [e.to_dict() | {"sync": states[e.symbol].to_dict()} for e in found]


# ---- the dispatcher's side ------------------------------------------------------------------


def due_warmups(
    store: RedisStore,
    timeframes: Sequence[Timeframe],
    concurrency: int,
    stale_after: float,
    now: float,
) -> list[tuple[str, str]]:
    """Queue new and lagging symbols; return ``(symbol, provider)`` warm-ups to start now.

    A warm-up whose heartbeat is older than ``stale_after`` seconds (its worker died and the
    broker has not redelivered it) is handed out again; two runs of one warm-up are harmless.
    """
    watch = {entry.symbol: entry.data_provider for entry in watchlist.entries(store)}
    with translate_errors():
        known = store.client.smembers(keys.SYNC_KNOWN)
    _forget(store, sorted(known - set(watch)))
    new = sorted(set(watch) - known)[:QUEUE_BATCH]
    queue(store, new, "watch", now)
    with translate_errors():
        check = store.client.set(keys.SYNC_CHECKED, repr(now), nx=True, ex=GAP_CHECK_SECONDS)
    if check:
        with translate_errors():
            busy = {*store.client.zrange(keys.SYNC_PENDING, 0, -1)}
            busy |= {*store.client.zrange(keys.SYNC_ACTIVE, 0, -1)}
        # Only symbols already known: the others wait for their turn to be queued as new.
        candidates = sorted((set(watch) & known) - busy)
        queue(store, lagging(store, candidates, timeframes, now)[:QUEUE_BATCH], "gap", now)
    return [(s, watch[s]) for s in _claim(store, concurrency, stale_after, now) if s in watch]


def queue(store: RedisStore, symbols: Sequence[str], reason: str, now: float) -> None:
    """Queue a warm-up (``reason`` ``watch``) or gap fill (``gap``) of ``symbols``.

    The flag that keeps their live bars out of the history is set first: a dispatch cut short
    leaves the rest unknown, so the next dispatch queues them, never a symbol known and
    pending whose live bars close before its history is loaded.
    """
    if not symbols:
        return
    _flag_all(store, symbols, reason)
    fields = {"state": SyncState.QUEUED.value, "reason": reason, "updated_at": repr(now)}
    with translate_errors():
        pipe = store.client.pipeline(transaction=False)
        for symbol in symbols:
            pipe.hset(keys.sync(symbol), mapping={**fields, "bars_done": "0", "error": ""})
        pipe.zadd(keys.SYNC_PENDING, dict.fromkeys(symbols, now), nx=True)
        pipe.sadd(keys.SYNC_KNOWN, *symbols)
        pipe.execute()


def _flag_all(store: RedisStore, symbols: Sequence[str], reason: str) -> None:
    # One round trip to read the live hashes and one to commit every flag; a symbol whose
    # live state changed in between (a tick) is flagged again on its own.
    frames = [
        {"symbol": symbol, **SyncStatus(symbol, SyncState.QUEUED, reason).to_dict()}
        for symbol in symbols
    ]
    lives = store.hgetall_many([keys.live(symbol) for symbol in symbols])
    commits = [_flag(live, True, frame) for live, frame in zip(lives, frames, strict=True)]
    for frame, won in zip(frames, store.commit_many(commits), strict=True):
        if not won:
            commit_live(store, str(frame["symbol"]), partial(_flag, on=True, frame=frame))


def lagging(
    store: RedisStore, symbols: Sequence[str], timeframes: Sequence[Timeframe], now: float
) -> list[str]:
    """Return the symbols with a timeframe whose newest bar is over one bar behind the clock.

    The newest bar is the latest of the last applied bar, the bar in progress and the last
    bar a fill covered (a provider with no bars for a closed market is not asked again), and
    a bar in progress that is more than one bar after the last applied one is a hole too.
    """
    fields = [SYNCING, *(f"{tf.value}.time" for tf in timeframes)]
    reads: list[tuple[str, tuple[Any, ...]]] = []
    for symbol in symbols:
        reads.append(("hmget", (keys.live(symbol), fields)))
        reads.append(("hmget", (keys.sync(symbol), [f"until.{tf.value}" for tf in timeframes])))
        reads += [("hget", (keys.engine(symbol, tf), "last_bar_time")) for tf in timeframes]
    found = iter(store.pipeline_reads(reads))
    behind = []
    for symbol in symbols:
        live, until, lasts = next(found), next(found), [next(found) for _ in timeframes]
        if live[0]:
            continue  # already queued or warming
        if any(
            _behind(tf, _int(last), _int(progress), _int(covered), now)
            for tf, last, progress, covered in zip(timeframes, lasts, live[1:], until, strict=True)
        ):
            behind.append(symbol)
    return behind


def _behind(
    tf: Timeframe, last: int | None, progress: int | None, covered: int | None, now: float
) -> bool:
    known = [t for t in (last, progress, covered) if t is not None]
    if not known or max(known) < tf.floor(now) - tf.seconds:
        return True
    return progress is not None and progress > max(last or 0, covered or 0) + tf.seconds


def _claim(store: RedisStore, concurrency: int, stale_after: float, now: float) -> list[str]:
    with translate_errors():
        client = store.client
        stale = client.zrangebyscore(keys.SYNC_ACTIVE, "-inf", now - stale_after)
        if stale:
            client.zadd(keys.SYNC_ACTIVE, dict.fromkeys(stale, now), xx=True)
        free = concurrency - client.zcard(keys.SYNC_ACTIVE)
        if free <= 0:
            return list(stale)
        claimed = []
        for symbol in client.zrangebyscore(keys.SYNC_PENDING, "-inf", now, start=0, num=free):
            if client.zrem(keys.SYNC_PENDING, symbol):  # another dispatch may race us
                client.zadd(keys.SYNC_ACTIVE, {symbol: now})
                claimed.append(symbol)
    return [*stale, *claimed]


def _forget(store: RedisStore, symbols: Sequence[str]) -> None:
    # No longer watched: drop from the queue; adding the symbol again fills its gap.
    if not symbols:
        return
    with translate_errors():
        pipe = store.client.pipeline(transaction=False)
        pipe.srem(keys.SYNC_KNOWN, *symbols)
        pipe.zrem(keys.SYNC_PENDING, *symbols)
        for symbol in symbols:
            pipe.hdel(keys.live(symbol), SYNCING)
            pipe.delete(keys.sync(symbol))
        pipe.execute()


# ---- the warm-up job's side -----------------------------------------------------------------


def begin(store: RedisStore, symbol: str, total: int, now: float) -> SyncStatus:
    """Record that a warm-up of ``symbol`` starts; hold its live bars; publish a frame."""
    previous = status(store, symbol)
    started = SyncStatus(
        symbol,
        SyncState.WARMING,
        previous.reason or "watch",
        0,
        total,
        previous.attempts + 1,
        previous.error,
        now,
    )
    sync_fields = _fields(started) | {"started_at": repr(now)}
    frame = {"symbol": symbol, **started.to_dict()}

    def build(live: Mapping[str, str]) -> Commit:
        commit = _flag(live, True, frame)
        commit.hset[keys.sync(symbol)] = sync_fields
        return commit

    commit_live(store, symbol, build)
    heartbeat(store, symbol, 0, now)
    return started


def heartbeat(store: RedisStore, symbol: str, bars_done: int, now: float) -> None:
    """Record progress, and that the warm-up is still running."""
    with translate_errors():
        pipe = store.client.pipeline(transaction=False)
        pipe.hset(keys.sync(symbol), mapping={"bars_done": bars_done, "updated_at": repr(now)})
        pipe.zadd(keys.SYNC_ACTIVE, {symbol: now}, xx=bars_done > 0)
        pipe.execute()


def go_live(
    store: RedisStore,
    symbol: str,
    covered: Mapping[Timeframe, int],
    done: SyncStatus,
    now: float,
) -> bool:
    """Let live bars through again once the history reaches the bar in progress.

    ``covered`` maps each timeframe to the end of the history applied (the start of the first
    bar not in it). A bar in progress older than that is dropped (the history has it whole);
    one that is newer means a boundary passed since the last fetch: nothing is written and
    ``False`` is returned, so the caller fetches the missing bars first.
    """

    def build(live: Mapping[str, str]) -> Commit | None:
        drop = []
        for tf, end in covered.items():
            progress = _int(live.get(f"{tf.value}.time"))
            if progress is not None and progress > end:
                return None
            if progress is not None and progress < end:
                drop += [f"{tf.value}.{name}" for name in BAR_FIELDS]
        commit = _flag(live, False, {"symbol": symbol, **done.to_dict()})
        commit.hdel[keys.live(symbol)] += drop
        until = {f"until.{tf.value}": str(end - tf.seconds) for tf, end in covered.items()}
        commit.hset[keys.sync(symbol)] = _fields(done) | until | {"finished_at": repr(now)}
        return commit

    if not commit_live(store, symbol, build):
        return False
    with translate_errors():
        store.client.zrem(keys.SYNC_ACTIVE, symbol)
    return True


def fail(
    store: RedisStore,
    symbol: str,
    error: BaseException,
    now: float,
    *,
    temporary: bool,
    counts: bool = True,
) -> SyncStatus:
    """Record a failed warm-up and when it is tried again; let other symbols go on.

    A temporary failure (provider down, circuit open) is retried with exponential backoff,
    holding the symbol's live bars, up to ``MAX_ATTEMPTS``; after that, or at once for a
    permanent one (unknown symbol), the symbol is ``failed``: its live bars flow again and
    the warm-up is tried again after ``FAILED_RETRY_SECONDS``. A failure that does not
    ``count`` (the shared request budget has no permit yet) only waits.
    """
    current = status(store, symbol)
    if not counts:
        current = replace(current, attempts=max(0, current.attempts - 1))
    retrying = temporary and (current.attempts < MAX_ATTEMPTS or not counts)
    if retrying:
        hint = getattr(error, "retry_after", None) or 0.0
        delay = max(float(hint), min(MAX_BACKOFF, 2.0**current.attempts))
    else:
        delay = FAILED_RETRY_SECONDS
    failed = SyncStatus(
        symbol,
        SyncState.RETRYING if retrying else SyncState.FAILED,
        current.reason,
        current.bars_done,
        current.bars_total,
        0 if not retrying else current.attempts,
        str(error) or type(error).__name__,
        now,
        now + delay,
    )

    def build(live: Mapping[str, str]) -> Commit:
        commit = _flag(live, retrying, {"symbol": symbol, **failed.to_dict()})
        commit.hset[keys.sync(symbol)] = _fields(failed)
        return commit

    commit_live(store, symbol, build)
    with translate_errors():
        pipe = store.client.pipeline(transaction=False)
        pipe.zrem(keys.SYNC_ACTIVE, symbol)
        pipe.zadd(keys.SYNC_PENDING, {symbol: now + delay})
        pipe.execute()
    return failed


def commit_live(
    store: RedisStore, symbol: str, build: Callable[[Mapping[str, str]], Commit | None]
) -> bool:
    """Commit ``build(live hash)`` guarded by the live hash's version; retry a lost race.

    Returns ``False`` when ``build`` declines (returns ``None``).
    """
    for _ in range(_COMMIT_ATTEMPTS):
        live = store.hgetall_many([keys.live(symbol)])[0]
        commit = build(live)
        if commit is None:
            return False
        if store.commit_many([commit])[0]:
            return True
    raise TemporaryError(f"live state of {symbol} kept changing under the warm-up; retry")


def _flag(live: Mapping[str, str], on: bool, frame: dict[str, Any]) -> Commit:
    symbol = str(frame["symbol"])
    commit = Commit(keys.live(symbol), live.get("ver", "0"))
    if on:
        commit.hset[keys.live(symbol)] = {SYNCING: "1"}
    else:
        commit.hdel[keys.live(symbol)] = [SYNCING]
    commit.updates.append(("sync", symbol, frame))
    return commit


def _fields(item: SyncStatus) -> dict[str, str]:
    return {
        "state": item.state.value,
        "reason": item.reason,
        "bars_done": str(item.bars_done),
        "bars_total": str(item.bars_total),
        "attempts": str(item.attempts),
        "error": item.error,
        "updated_at": repr(item.updated_at or 0.0),
        "retry_at": repr(item.retry_at) if item.retry_at is not None else "",
    }


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _float(text: str | None) -> float | None:
    return float(text) if text else None
