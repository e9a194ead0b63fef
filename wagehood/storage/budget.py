"""Per-provider request budgets that every process shares through Redis.

A budget allows ``per_minute`` requests in any 60-second window (a sliding log: a sorted set
of request times, trimmed to the window), so it is never exceeded, whoever asks: the
dispatcher for live polls and history fetches draw from the same log. A caller can keep a
``reserve`` of the window for others (history leaves the live polls' share), and a vendor's
429 pauses the budget until its Retry-After has passed. One Lua script decides atomically
on Redis's own clock, so processes on several hosts agree.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis

from wagehood.errors import BudgetExceededError
from wagehood.storage import keys
from wagehood.storage.redis_store import translate_errors

logger = logging.getLogger(__name__)

WINDOW = 60.0  # seconds the budget counts requests over
LIVE_RESERVE = "live_per_minute"  # state field: permits a minute the dispatcher plans to use
HISTORY_WAIT = 5.0  # seconds ``acquire`` waits for a permit before giving up
DEFAULT_PAUSE = 60.0  # seconds a 429 without Retry-After pauses the budget
MAX_PAUSE = 3600.0  # a Retry-After beyond this is capped

# KEYS: log, state. ARGV: per_minute, wanted, reserve field ('' for none), window.
# Returns {granted, seconds until a permit could be granted} as strings.
TAKE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local per_minute, wanted, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
local paused = tonumber(redis.call('HGET', KEYS[2], 'paused_until') or '0')
if now < paused then return {'0', tostring(paused - now)} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local reserve = 0
if ARGV[3] ~= '' then reserve = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0') end
local grant = math.min(wanted, math.max(0, math.floor(per_minute - reserve - used)))
if grant > 0 then
  local last = redis.call('HINCRBY', KEYS[2], 'seq', grant)
  for i = 1, grant do redis.call('ZADD', KEYS[1], now, last - grant + i) end
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 2000))
  redis.call('HINCRBY', KEYS[2], 'requests', grant)
  return {tostring(grant), '0'}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = window
if oldest[2] then wait = tonumber(oldest[2]) + window - now end
return {'0', tostring(math.max(wait, 0.001))}
"""


@dataclass(frozen=True)
class Grant:
    """Permits granted by one ``take``, and how long until the next could be."""

    granted: int
    wait: float


class RequestBudget:
    """The shared request budget of one provider (see the module docstring)."""

    def __init__(self, client: redis.Redis, provider: str, per_minute: int) -> None:
        self.provider = provider
        self.per_minute = per_minute
        self.client = client
        self.log_key = f"{keys.BUDGET_PREFIX}:{provider}:log"
        self.state_key = f"{keys.BUDGET_PREFIX}:{provider}:state"
        self._take = client.register_script(TAKE_SCRIPT)

    def take(self, wanted: int, reserve_field: str = "") -> Grant:
        """Take up to ``wanted`` permits now, leaving the state's ``reserve_field`` free."""
        if wanted <= 0:
            return Grant(0, 0.0)
        with translate_errors():
            granted, wait = self._take(
                keys=[self.log_key, self.state_key],
                args=[self.per_minute, wanted, reserve_field, WINDOW],
            )
        return Grant(int(granted), float(wait))

    def acquire(self, max_wait: float = HISTORY_WAIT, reserve_field: str = LIVE_RESERVE) -> None:
        """Wait for one permit up to ``max_wait`` seconds, leaving the live polls' share.

        Raises:
            BudgetExceededError: no permit within ``max_wait``; ``retry_after`` says when.
        """
        deadline = time.monotonic() + max_wait
        while True:
            grant = self.take(1, reserve_field)
            if grant.granted:
                return
            left = deadline - time.monotonic()
            if grant.wait > left:
                raise BudgetExceededError(
                    f"{self.provider}: request budget of {self.per_minute}/min used up;"
                    f" next request in {grant.wait:.1f} s",
                    retry_after=grant.wait,
                )
            time.sleep(grant.wait)

    def pause(self, seconds: float | None) -> float:
        """Allow no request for ``seconds`` (a vendor's 429); return the pause's end (epoch)."""
        pause = min(MAX_PAUSE, DEFAULT_PAUSE if seconds is None else max(seconds, 1.0))
        until = time.time() + pause
        with translate_errors():
            pipe = self.client.pipeline(transaction=True)
            pipe.hset(self.state_key, "paused_until", repr(until))
            pipe.hincrby(self.state_key, "rate_limited", 1)
            pipe.execute()
        logger.warning("%s: vendor rate limit, no requests for %.0f s", self.provider, pause)
        return until

    def state(self) -> dict[str, str]:
        """Return the state hash: counters, the dispatcher's plan, ``paused_until``."""
        with translate_errors():
            raw = self.client.hgetall(self.state_key)
        return {_text(k): _text(v) for k, v in raw.items()}

    def record(self, mapping: dict[str, str], skipped: int) -> None:
        """Store the dispatcher's plan fields and add ``skipped`` to the skipped polls."""
        with translate_errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.hset(self.state_key, mapping=mapping)
            if skipped:
                pipe.hincrby(self.state_key, "skipped", skipped)
            pipe.execute()

    def advance(self, count: int) -> int:
        """Move the round-robin cursor on by ``count``; return where it was."""
        with translate_errors():
            return int(self.client.hincrby(self.state_key, "cursor", count)) - count


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
