"""Redis access for the pipeline: batched loads and an atomic compare-and-set commit.

Every write of a symbol's state goes through ``COMMIT_SCRIPT``: it checks the version field of
a guard hash, and only if it is still what the writer loaded does it apply all hash writes and
stream appends, append the update frames to the global updates stream under consecutive
sequence numbers, and bump the version. A writer that loses the race reloads and recomputes;
together with the bar-time and tick-time guards in the domain this makes every step
idempotent, so Celery's at-least-once delivery yields exactly-once effects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from wagehood.errors import TemporaryError
from wagehood.storage import keys

COMMIT_SCRIPT = """
local ver = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
if ver ~= ARGV[2] then return -1 end
local p = cjson.decode(ARGV[3])
for _, h in ipairs(p.hset) do
  redis.call('HSET', KEYS[h[1]], unpack(h[2]))
end
for _, d in ipairs(p.hdel) do
  redis.call('HDEL', KEYS[d[1]], unpack(d[2]))
end
for _, x in ipairs(p.xadd) do
  redis.call('XADD', KEYS[x[1]], 'MAXLEN', '~', x[3], x[2], unpack(x[4]))
end
local seq = 0
for _, u in ipairs(p.updates) do
  seq = redis.call('INCR', KEYS[3])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', p.updates_maxlen, seq .. '-1',
             'type', u[1], 'symbol', u[2], 'data', u[3])
end
local new = tonumber(ver) + 1
redis.call('HSET', KEYS[1], ARGV[1], new)
return new
"""


@dataclass
class Commit:
    """All writes of one guarded step, applied atomically or not at all."""

    guard_key: str
    expected: str
    guard_field: str = "ver"
    hset: dict[str, dict[str, str]] = field(default_factory=dict)
    hdel: dict[str, list[str]] = field(default_factory=dict)
    xadd: list[tuple[str, str, int, dict[str, str]]] = field(default_factory=list)
    updates: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def is_empty(self) -> bool:
        """Return whether the commit writes nothing (then it needs no guard check)."""
        return not (self.hset or self.hdel or self.xadd or self.updates)

    def keys_and_payload(self, updates_maxlen: int) -> tuple[list[str], str]:
        """Return the script's KEYS and its JSON payload."""
        key_list = [self.guard_key, keys.UPDATES, keys.UPDATES_SEQ]
        index: dict[str, int] = {}

        def slot(key: str) -> int:
            if key not in index:
                key_list.append(key)
                index[key] = len(key_list)
            return index[key]

        payload = {
            "hset": [[slot(k), _flatten(v)] for k, v in self.hset.items() if v],
            "hdel": [[slot(k), v] for k, v in self.hdel.items() if v],
            "xadd": [[slot(k), i, n, _flatten(f)] for k, i, n, f in self.xadd],
            "updates": [[t, s, json.dumps(d, separators=(",", ":"))] for t, s, d in self.updates],
            "updates_maxlen": updates_maxlen,
        }
        return key_list, json.dumps(payload, separators=(",", ":"))


def _flatten(mapping: Mapping[str, str]) -> list[str]:
    flat: list[str] = []
    for key, value in mapping.items():
        flat += (key, value)
    return flat


class RedisStore:
    """Batched reads and guarded writes of pipeline state."""

    def __init__(self, client: redis.Redis, updates_maxlen: int = 100_000) -> None:
        """Wrap ``client`` (created with ``decode_responses=True``)."""
        self.client = client
        self.updates_maxlen = updates_maxlen
        self._commit = client.register_script(COMMIT_SCRIPT)

    @classmethod
    def from_url(cls, url: str, updates_maxlen: int = 100_000) -> RedisStore:
        """Connect to the Redis at ``url``."""
        client = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=10, health_check_interval=30
        )
        return cls(client, updates_maxlen)

    def hgetall_many(self, names: Sequence[str]) -> list[dict[str, str]]:
        """Return ``HGETALL`` of every hash in ``names`` in one round trip."""
        with translate_errors():
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hgetall(name)
            return list(pipe.execute())

    def commit_many(self, commits: Sequence[Commit]) -> list[bool]:
        """Apply ``commits`` in one round trip; return which of them won their guard.

        An empty commit writes nothing and counts as won without touching Redis.
        """
        writes = [commit for commit in commits if not commit.is_empty()]
        if writes:
            with translate_errors():
                pipe = self.client.pipeline(transaction=False)
                for commit in writes:
                    key_list, payload = commit.keys_and_payload(self.updates_maxlen)
                    self._commit(
                        keys=key_list,
                        args=[commit.guard_field, commit.expected, payload],
                        client=pipe,
                    )
                results = iter(pipe.execute())
        return [commit.is_empty() or int(next(results)) >= 0 for commit in commits]

    def stream_range(
        self, name: str, start: str = "-", end: str = "+", count: int | None = None
    ) -> list[tuple[str, dict[str, str]]]:
        """Return stream entries between ids ``start`` and ``end``, oldest first."""
        with translate_errors():
            return list(self.client.xrange(name, start, end, count=count))

    def stream_tail(
        self, name: str, end: str = "+", count: int = 1
    ) -> list[tuple[str, dict[str, str]]]:
        """Return the last ``count`` entries up to id ``end``, oldest first."""
        with translate_errors():
            entries = self.client.xrevrange(name, end, "-", count=count)
        return list(reversed(entries))

    def pipeline_reads(self, calls: Iterable[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """Run read commands ``(method, args)`` in one round trip and return their results."""
        with translate_errors():
            pipe = self.client.pipeline(transaction=False)
            for method, args in calls:
                getattr(pipe, method)(*args)
            return list(pipe.execute())


class translate_errors:  # noqa: N801 - used as a lower-case context manager
    """Turn redis-py connection failures into ``TemporaryError`` (retry, 503)."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError | redis.BusyLoadingError):
            raise TemporaryError(f"redis unavailable: {exc}") from exc
        if isinstance(exc, redis.ResponseError) and "LOADING" in str(exc):
            raise TemporaryError(f"redis is loading its data: {exc}") from exc
