"""Per-key fixed-window rate limits in one Redis round trip.

Limits are written in flask-limiter's syntax (``"600/minute"``, ``"10/second;500/hour"``,
parsed by ``limits``) and behave like its ``fixed-window`` strategy: a counter per key, route
and limit that expires at the end of its window. flask-limiter itself needs three round trips
per request (the hit, then GET and TTL for the ``X-RateLimit-*`` headers); this script counts
the hit and returns each counter's TTL in one. Over a limit the answer is 429 with
``Retry-After``; every limited response carries ``X-RateLimit-Limit``, ``-Remaining`` and
``-Reset`` (epoch seconds), as flask-limiter sent them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from flask import Response, g
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

logger = logging.getLogger(__name__)

PREFIX = "wh:ratelimit"
# KEYS: one counter per limit; ARGV: per limit its window in seconds. Returns count, TTL pairs.
WINDOW_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local ttl = redis.call('TTL', key)
  if ttl < 0 then
    ttl = tonumber(ARGV[i])
    redis.call('EXPIRE', key, ttl)
  end
  out[2 * i - 1] = count
  out[2 * i] = ttl
end
return out
"""


@dataclass(frozen=True)
class Window:
    """One limit's counter after this request: its limit, the count and the reset time."""

    limit: RateLimitItem
    count: int
    reset_at: float

    @property
    def breached(self) -> bool:
        """Return whether this request went over the limit."""
        return self.count > self.limit.amount


@lru_cache(maxsize=256)
def parse_limits(text: str) -> tuple[RateLimitItem, ...]:
    """Return the limits of ``text`` (flask-limiter syntax), shortest window first."""
    return tuple(sorted(parse_many(text), key=lambda item: item.get_expiry()))


class RateLimiter:
    """Fixed-window counters in Redis, one script call per request."""

    def __init__(self, client: redis.Redis) -> None:
        """Count in the Redis of ``client``."""
        self._script = client.register_script(WINDOW_SCRIPT)

    def hit(self, identity: str, scope: str, text: str) -> list[Window]:
        """Count one request of ``identity`` on ``scope`` against every limit in ``text``."""
        items = parse_limits(text)
        # One hash tag per identity, so its counters share a Redis Cluster slot.
        names = [f"{PREFIX}:{{{identity}}}:{scope}:{item.key_for()}" for item in items]
        replies = self._script(keys=names, args=[item.get_expiry() for item in items])
        now = time.time()
        return [
            Window(item, int(replies[2 * i]), now + max(int(replies[2 * i + 1]), 0))
            for i, item in enumerate(items)
        ]


def check(limiter: RateLimiter, identity: str, scope: str, text: str) -> None:
    """Count the request; raise 429 if a limit is exceeded. Redis errors let it through."""
    try:
        windows = limiter.hit(identity, scope, text)
    except ValueError as error:
        logger.error("invalid rate limit %r for %s: %s; request not limited", text, identity, error)
        return
    except redis.RedisError:
        logger.exception("rate limit storage unreachable; request not limited")
        return
    shown = next((w for w in windows if w.breached), windows[0])
    g.rate_window = shown
    if shown.breached:
        raise TooManyRequests(str(shown.limit), retry_after=retry_after(shown))


def retry_after(window: Window) -> int:
    """Return the seconds until ``window`` resets (at least 1)."""
    return max(1, int(window.reset_at + 1 - time.time()))


def add_headers(response: Response) -> Response:
    """After a counted request: ``X-RateLimit-*`` (and ``Retry-After`` when over)."""
    window: Window | None = g.get("rate_window")
    if window is not None:
        headers = response.headers
        headers["X-RateLimit-Limit"] = str(window.limit.amount)
        headers["X-RateLimit-Remaining"] = str(max(window.limit.amount - window.count, 0))
        headers["X-RateLimit-Reset"] = str(int(window.reset_at + 1))
        if window.breached:
            headers["Retry-After"] = str(retry_after(window))
    return response
