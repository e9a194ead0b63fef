"""Fan-out of the workers' updates stream to WebSocket connections.

One reader thread per web process tails ``wh:updates`` with ``XREAD BLOCK`` and offers every
update to each registered connection, and counts it in the live view (``api/live_view.py``),
which serves the REST read routes; it runs while connections are open or the view is used.
A connection keeps a bounded queue drained by its own sender thread; the reader never blocks on a connection: when a queue is full the connection
is dropped (its queue is cleared and replaced by a close frame carrying the reason, and the
socket is shut down if the client does not even take that within ``FORCE_CLOSE_SECONDS``).

Ordering and resume: an update's ``seq`` is its stream id's integer part, one sequence across
all symbols. A connection enqueues an update only if its seq is above the last one it
enqueued, so frames leave in increasing seq. ``catch_up(since_seq)`` (a client's resume)
re-reads the stream from ``since_seq + 1`` while the reader buffers live updates for that
connection; the buffer is then flushed through the same seq filter, so nothing is lost or
repeated at the seam.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from api.live_view import LiveView
from wagehood.errors import TemporaryError
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000
BLOCK_MS = 1000
READ_COUNT = 500
CATCH_UP_PAGE = 500
CATCH_UP_PUT_SECONDS = 10.0
FORCE_CLOSE_SECONDS = 5.0
IDLE_STOP_SECONDS = 30.0
FOLLOW_RETRY_SECONDS = 1.0  # after a failed start, how long the live view waits to try again
CLOSE = object()  # queue sentinel: the sender closes the socket
POLICY_VIOLATION = 1008  # close codes: a rule was broken (quota, slow consumer, bad id)
TRY_AGAIN_LATER = 1013  # the process has no WebSocket slot left
AUTH_EXPIRED = 4401  # the key was revoked or the token expired: renew and reconnect


@dataclass(frozen=True)
class Limits:
    """WebSockets one web process admits: per API key, per client address, in all."""

    per_key: int
    per_address: int
    total: int | None = None


@dataclass(frozen=True)
class Update:
    """One entry of the updates stream."""

    seq: int
    type: str
    symbol: str
    data: Any

    @classmethod
    def from_entry(cls, entry_id: str, fields: dict[str, str]) -> Update:
        """Parse a stream entry (id ``<seq>-1``)."""
        data = json.loads(fields.get("data", "null"))
        return cls(
            int(entry_id.split("-", maxsplit=1)[0]),
            fields.get("type", ""),
            fields.get("symbol", ""),
            data,
        )

    def frame(self) -> dict[str, Any]:
        """Return the WebSocket frame ``{"type", "seq", "data"}``."""
        return {"type": self.type, "seq": self.seq, "data": self.data}


class Connection:
    """One WebSocket client: its subscriptions, seq cursor and bounded outgoing queue."""

    def __init__(self, connection_id: str, queue_size: int = QUEUE_SIZE) -> None:
        """Create an idle connection (no symbols)."""
        self.id = connection_id
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self.lock = threading.Lock()
        self.symbols: set[str] = set()
        self.include_indicators = True
        self.last_seq = 0
        self.catching_up = False
        self.buffer: list[Update] = []
        self.closed = threading.Event()
        self.close_reason: str | None = None
        self.close_code = POLICY_VIOLATION
        self.owner = ""  # the API key id it authenticated as
        self.address = ""
        self.on_force_close: Callable[[], None] = lambda: None

    def wants(self, update: Update) -> bool:
        """Return whether ``update`` concerns this connection's subscriptions."""
        if update.symbol not in self.symbols:
            return False
        return update.type != "indicators" or self.include_indicators

    def offer(self, update: Update) -> bool:
        """Enqueue ``update`` if wanted and new; return False if the queue overflowed."""
        with self.lock:
            if not self.wants(update) or update.seq <= self.last_seq:
                return True
            if self.catching_up:
                self.buffer.append(update)
                return len(self.buffer) <= self.queue.maxsize
            return self._put(update)

    def _put(self, update: Update) -> bool:
        try:
            self.queue.put_nowait(update.frame())
        except queue.Full:
            return False
        self.last_seq = update.seq
        return True

    def subscribe(
        self, symbols: Iterable[str], include_indicators: bool, since_seq: int | None, limit: int
    ) -> bool:
        """Add symbols (at most ``limit`` in all); with ``since_seq``, enter catch-up mode.

        Returns False, changing nothing, when the limit would be exceeded.
        """
        with self.lock:
            wanted = self.symbols | set(symbols)
            if len(wanted) > limit:
                return False
            self.symbols = wanted
            self.include_indicators = include_indicators
            if since_seq is not None:
                self.catching_up = True
                self.buffer = []
                self.last_seq = max(self.last_seq, since_seq)
            return True

    def control(self, kind: str, data: dict[str, Any]) -> bool:
        """Enqueue a control frame (seq = the last update seq sent); False on overflow."""
        with self.lock:
            frame = {"type": kind, "seq": self.last_seq, "data": data}
            try:
                self.queue.put_nowait(frame)
            except queue.Full:
                return False
            return True

    def finish(self, reason: str | None = None, code: int = POLICY_VIOLATION) -> None:
        """Stop sending: drop queued frames and let the sender close (with ``reason``)."""
        if self.closed.is_set():
            return
        self.close_reason, self.close_code = reason, code
        self.closed.set()
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        self.queue.put_nowait(CLOSE)


class Hub:
    """The process's one reader of the updates stream and its registered connections."""

    def __init__(self, store: RedisStore, queue_size: int = QUEUE_SIZE) -> None:
        """Create an idle hub; the reader thread starts with the first connection."""
        self.store = store
        self.queue_size = queue_size
        self.connections: dict[int, Connection] = {}
        self.lock = threading.RLock()
        self.thread: threading.Thread | None = None
        self.dropped = 0
        self.view = LiveView(BLOCK_MS / 1000)
        self.follow_tried = float("-inf")

    @property
    def client_count(self) -> int:
        """Return the number of open connections."""
        return len(self.connections)

    def admit(self, connection: Connection, limits: Limits) -> tuple[int, str] | None:
        """Register ``connection`` within ``limits``, or return the close code and reason."""
        with self.lock:
            open_now = list(self.connections.values())
            if limits.total is not None and len(open_now) >= limits.total:
                return TRY_AGAIN_LATER, f"server busy: all {limits.total} WebSocket slots in use"
            if sum(c.owner == connection.owner for c in open_now) >= limits.per_key:
                return (
                    POLICY_VIOLATION,
                    f"too many WebSockets for this API key (at most {limits.per_key})",
                )
            if sum(c.address == connection.address for c in open_now) >= limits.per_address:
                return (
                    POLICY_VIOLATION,
                    f"too many WebSockets from this address (at most {limits.per_address})",
                )
            self.register(connection)
            return None

    def register(self, connection: Connection) -> None:
        """Add ``connection``; start the reader (at the stream's current end) if needed."""
        with self.lock:
            self.connections[id(connection)] = connection
            self._start_reader()

    def follow(self) -> None:
        """Make sure the reader runs, for the live view (it stops when idle)."""
        thread = self.thread
        if thread is not None and thread.is_alive():
            return
        with self.lock:
            if time.monotonic() - self.follow_tried < FOLLOW_RETRY_SECONDS:
                return  # Redis failed us a moment ago: the requests read it (or fail) meanwhile
            self.follow_tried = time.monotonic()
            try:
                self._start_reader()
            except TemporaryError as error:
                logger.warning("updates reader not started: %s", error)

    def _start_reader(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.view.lost()  # frames were not followed until now
            start = self._tail_id()
            self.view.read_done()  # followed from here: the reader starts at this id
            self.thread = threading.Thread(
                target=self._run, args=(start,), name="wagehood-ws-hub", daemon=True
            )
            self.thread.start()

    def unregister(self, connection: Connection) -> None:
        """Remove ``connection`` (idempotent)."""
        with self.lock:
            self.connections.pop(id(connection), None)

    def drop(self, connection: Connection, reason: str, code: int = POLICY_VIOLATION) -> None:
        """Close a connection (too slow, flooding, credentials lapsed) with a reason."""
        self.unregister(connection)
        if connection.closed.is_set():
            return
        self.dropped += code != AUTH_EXPIRED  # the metric counts slow or flooding clients
        logger.warning("dropping websocket %s: %s", connection.id, reason)
        connection.finish(reason, code)
        timer = threading.Timer(FORCE_CLOSE_SECONDS, connection.on_force_close)
        timer.daemon = True
        timer.start()

    def _tail_id(self) -> str:
        with translate_errors():
            last = self.store.client.xrevrange(keys.UPDATES, count=1)
        return str(last[0][0]) if last else "0-0"

    def _run(self, last_id: str) -> None:
        idle_since = time.monotonic()
        while True:
            if self.connections or time.monotonic() - self.view.used_at < IDLE_STOP_SECONDS:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > IDLE_STOP_SECONDS:
                with self.lock:
                    if not self.connections:
                        self.view.lost()
                        self.thread = None
                        return
            last_id = self._read_once(last_id)

    def _read_once(self, last_id: str) -> str:
        try:
            with translate_errors():
                reply = self.store.client.xread(
                    {keys.UPDATES: last_id}, count=READ_COUNT, block=BLOCK_MS
                )
        except TemporaryError as error:
            logger.warning("updates reader: %s; retrying", error)
            self.view.lost()
            time.sleep(1.0)
            return last_id
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last_id = entry_id
                self.view.saw(fields.get("symbol", ""))
                if self.connections:  # decoded only when a socket may want it
                    self.fan_out(Update.from_entry(entry_id, fields))
        self.view.read_done()
        return last_id

    def fan_out(self, update: Update) -> None:
        """Offer ``update`` to every connection; drop those whose queue overflows."""
        for connection in list(self.connections.values()):
            if not connection.offer(update):
                self.drop(connection, "slow consumer: send queue overflowed")

    def catch_up(self, connection: Connection, since_seq: int) -> int:
        """Catch up: send the updates after ``since_seq``, then go live; return the count.

        The connection must already be in catch-up mode (``Connection.subscribe`` with
        ``since_seq``), so live updates are buffered from the moment it subscribed. Sends an ``error`` frame first when the stream no longer holds all of them (capped).
        """
        sent = self._catch_up(connection, since_seq + 1)
        with connection.lock:
            pending, connection.buffer = connection.buffer, []
            connection.catching_up = False
            for update in pending:
                if connection.wants(update) and update.seq > connection.last_seq:
                    if not connection._put(update):
                        break
                    sent += 1
            else:
                return sent
        self.drop(connection, "slow consumer: send queue overflowed during resume")
        return sent

    def _catch_up(self, connection: Connection, first: int) -> int:
        oldest = self._oldest_seq()
        if oldest is not None and first < oldest:
            message = f"updates before seq {oldest} are no longer kept"
            gap = {"code": "replay_gap", "message": message, "oldest_seq": oldest}  # wire name kept
            connection.control("error", gap)
        sent = 0
        for update in self._stream_from(first):
            if connection.closed.is_set():
                return sent
            if connection.wants(update) and update.seq > connection.last_seq:
                try:
                    connection.queue.put(update.frame(), timeout=CATCH_UP_PUT_SECONDS)
                except queue.Full:
                    self.drop(connection, "slow consumer: replay not taken in time")
                    return sent
                connection.last_seq = update.seq
                sent += 1
        return sent

    def _oldest_seq(self) -> int | None:
        with translate_errors():
            first = self.store.client.xrange(keys.UPDATES, count=1)
        return int(first[0][0].split("-")[0]) if first else None

    def _stream_from(self, first: int) -> Iterable[Update]:
        start = keys.seq_id(first)
        while True:
            with translate_errors():
                page = self.store.client.xrange(keys.UPDATES, start, "+", count=CATCH_UP_PAGE)
            for entry_id, fields in page:
                yield Update.from_entry(entry_id, fields)
            if len(page) < CATCH_UP_PAGE:
                return
            start = f"({page[-1][0]}"
