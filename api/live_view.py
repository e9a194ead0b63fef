"""The web process's view of the latest answers, kept fresh by the updates stream it tails.

``data/latest`` and ``indicators`` answer from Redis (``wagehood.service.queries``). The body
of a successful answer is kept here, per route, symbol and query string, and served again
(the same bytes) until one of these happens:

- a frame of that symbol arrives on the updates stream (``wh:updates``, tailed by the hub's
  reader, ``api/hub.py``): every pipeline commit of a symbol's live or indicator state
  appends one, in the same script, so a committed update is served from Redis as soon as
  this process has read its frame (typically well under a millisecond);
- ``VIEW_MAX_AGE`` passes: changes that carry no frame (warm-up progress in the sync hash,
  a configuration change, a removed symbol) are seen within that bound;
- the reader is not following the stream (not started, idle, or its last read is older
  than ``FOLLOW_SLACK`` beyond its block time, e.g. Redis is down): nothing is served from
  the view and every request reads Redis.

An answer read from Redis is kept only if no frame of its symbol arrived since the request
took its token (the symbol's frame count and the view's epoch), so an answer read just
before a commit is never kept after that commit's frame. Requests that fail, ask for
another route, or are refused by auth or the rate limiter (which run first) are not kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request
from prometheus_client import Counter

VIEW_ENDPOINTS = frozenset({"data.latest", "indicators.indicators"})
VIEW_MAX_AGE = 1.0  # seconds an answer is served without a frame of its symbol
FOLLOW_SLACK = 1.0  # seconds beyond its block time the reader may take to read again
MAX_ANSWERS = 10_000  # beyond this many answers at once, the view starts afresh

# Registered on /metrics's registry by api/metrics.py (with several gunicorn workers,
# prometheus-client's multiprocess files sum them over the processes).
VIEW_HITS = Counter(
    "wagehood_read_view_hits",
    "data/latest and indicators answers served from the web process's live view",
    ["route"],
    registry=None,
)
VIEW_MISSES = Counter(
    "wagehood_read_view_misses",
    "data/latest and indicators requests that read Redis (no valid answer in the view)",
    ["route"],
    registry=None,
)

Token = tuple[int, int]  # (view epoch, the symbol's frame count)
AnswerKey = tuple[str, str, bytes]  # (endpoint, symbol, query string)


@dataclass(frozen=True)
class Answer:
    """A successful answer's body, and the token and time it was read from Redis at."""

    body: bytes
    mimetype: str
    token: Token
    made: float  # monotonic time


class LiveView:
    """Answers by route, symbol and query, valid until their symbol's next frame."""

    def __init__(self, block_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Create an empty view; ``block_seconds`` is the reader's XREAD block time."""
        self.clock = clock
        self.block_seconds = block_seconds
        self.lock = threading.Lock()
        self.epoch = 0
        self.frames: dict[str, int] = {}
        self.answers: dict[AnswerKey, Answer] = {}
        self.read_at: float | None = None  # the reader's last answer from Redis
        self.used_at = clock()  # the last request that looked here

    def following(self) -> bool:
        """Return whether the reader read the stream recently enough to trust the view."""
        read_at = self.read_at
        limit = self.block_seconds + FOLLOW_SLACK
        return read_at is not None and self.clock() - read_at < limit

    def token(self, symbol: str) -> Token:
        """Return the token an answer about ``symbol`` read from Redis now is kept with."""
        return self.epoch, self.frames.get(symbol, 0)

    def lookup(self, key: AnswerKey) -> Answer | None:
        """Return the answer kept for ``key`` if it is still valid."""
        self.used_at = now = self.clock()
        answer = self.answers.get(key)
        if answer is None or not self.following() or now - answer.made >= VIEW_MAX_AGE:
            return None
        return answer if answer.token == self.token(key[1]) else None

    def keep(self, key: AnswerKey, token: Token, body: bytes, mimetype: str) -> None:
        """Keep ``body`` for ``key`` unless a frame of its symbol came after ``token``."""
        with self.lock:
            if token != self.token(key[1]) or not self.following():
                return
            if len(self.answers) >= MAX_ANSWERS:
                self.answers.clear()
            self.answers[key] = Answer(body, mimetype, token, self.clock())

    def saw(self, symbol: str) -> None:
        """Count a frame of ``symbol``: its kept answers are no longer valid."""
        with self.lock:
            self.frames[symbol] = self.frames.get(symbol, 0) + 1

    def read_done(self) -> None:
        """Note that the reader has just read (and counted) everything up to now."""
        self.read_at = self.clock()

    def lost(self) -> None:
        """Forget everything: the reader stopped or failed, frames may have been missed."""
        with self.lock:
            self.read_at = None
            self.epoch += 1
            self.frames.clear()
            self.answers.clear()


def serve_from_view() -> Response | None:
    """Before a view route (after auth and the limiter): answer from the view if valid."""
    if request.endpoint not in VIEW_ENDPOINTS or request.view_args is None:
        return None
    hub = current_app.extensions["wagehood"].hub
    hub.follow()
    view: LiveView = hub.view
    symbol = str(request.view_args.get("symbol", "")).strip().upper()
    key = (request.endpoint, symbol, request.query_string)
    answer = view.lookup(key)
    if answer is not None:
        VIEW_HITS.labels(request.endpoint).inc()
        return current_app.response_class(answer.body, status=200, mimetype=answer.mimetype)
    VIEW_MISSES.labels(request.endpoint).inc()
    g.view_key, g.view_token = key, view.token(symbol)
    return None


def keep_in_view(response: Response) -> Response:
    """After a view route answered from Redis: keep its body if it succeeded."""
    key = g.pop("view_key", None)
    if key is not None and response.status_code == 200 and not response.direct_passthrough:
        view: LiveView = current_app.extensions["wagehood"].hub.view
        view.keep(key, g.view_token, response.get_data(), response.mimetype or "")
    return response


def register_live_view(app: Flask) -> None:
    """Serve ``VIEW_ENDPOINTS`` from the view (hooks after auth, limiter and metrics)."""
    app.before_request(serve_from_view)
    app.after_request(keep_in_view)
