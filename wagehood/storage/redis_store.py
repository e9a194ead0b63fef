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
from redis.exceptions import NoScriptError

from wagehood.errors import TemporaryError
from wagehood.storage import keys

# ARGV: guard field, expected version, updates maxlen, then the counts of key deletions, hash
# writes, field deletions, stream appends, stream trims, update frames and further guards,
# then each further guard as ``key-index field expected``, then the writes in that order: a
# deletion ``key-index``; a hash write or field deletion ``key-index n item*n``; an append
# ``key-index id maxlen n item*n`` (maxlen 0: uncapped; -1: uncapped, and skipped if the stream
# has an entry with that id or a later one); a trim ``key-index strategy threshold``
# (``MAXLEN`` approximate, ``MINID`` exact); a frame ``type symbol data``. Flat arguments
# rather than one JSON document: nothing is encoded twice, and the script does not decode a
# document. Every guard must hold, or nothing is written; each one's version is bumped.
COMMIT_SCRIPT = """
local ver = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
if ver ~= ARGV[2] then return -1 end
local i = 11
for _ = 1, tonumber(ARGV[10]) do
  local other = redis.call('HGET', KEYS[tonumber(ARGV[i])], ARGV[i + 1]) or '0'
  if other ~= ARGV[i + 2] then return -1 end
  i = i + 3
end
for _ = 1, tonumber(ARGV[4]) do
  redis.call('DEL', KEYS[tonumber(ARGV[i])])
  i = i + 1
end
for _ = 1, tonumber(ARGV[5]) do
  local n = tonumber(ARGV[i + 1])
  redis.call('HSET', KEYS[tonumber(ARGV[i])], unpack(ARGV, i + 2, i + 1 + n))
  i = i + 2 + n
end
for _ = 1, tonumber(ARGV[6]) do
  local n = tonumber(ARGV[i + 1])
  redis.call('HDEL', KEYS[tonumber(ARGV[i])], unpack(ARGV, i + 2, i + 1 + n))
  i = i + 2 + n
end
for _ = 1, tonumber(ARGV[7]) do
  local n = tonumber(ARGV[i + 3])
  if ARGV[i + 2] == '0' then
    redis.call('XADD', KEYS[tonumber(ARGV[i])], ARGV[i + 1], unpack(ARGV, i + 4, i + 3 + n))
  elseif ARGV[i + 2] == '-1' then
    -- an entry with this id or a later one is kept: the reply is an error, not raised
    redis.pcall('XADD', KEYS[tonumber(ARGV[i])], ARGV[i + 1], unpack(ARGV, i + 4, i + 3 + n))
  else
    redis.call('XADD', KEYS[tonumber(ARGV[i])], 'MAXLEN', '~', ARGV[i + 2], ARGV[i + 1],
               unpack(ARGV, i + 4, i + 3 + n))
  end
  i = i + 4 + n
end
for _ = 1, tonumber(ARGV[8]) do
  if ARGV[i + 1] == 'MAXLEN' then
    redis.call('XTRIM', KEYS[tonumber(ARGV[i])], 'MAXLEN', '~', ARGV[i + 2])
  else
    redis.call('XTRIM', KEYS[tonumber(ARGV[i])], 'MINID', ARGV[i + 2])
  end
  i = i + 3
end
local seq = 0
for _ = 1, tonumber(ARGV[9]) do
  seq = redis.call('INCR', KEYS[3])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-1',
             'type', ARGV[i], 'symbol', ARGV[i + 1], 'data', ARGV[i + 2])
  i = i + 3
end
local g = 11
for _ = 1, tonumber(ARGV[10]) do
  redis.call('HSET', KEYS[tonumber(ARGV[g])], ARGV[g + 1], tonumber(ARGV[g + 2]) + 1)
  g = g + 3
end
local new = tonumber(ver) + 1
redis.call('HSET', KEYS[1], ARGV[1], new)
return new
"""


# KEYS: engine hash, checkpoints stream, bars stream; ARGV: the last checkpoint id wanted
# (inclusive), the end of the bars (exclusive). The newest checkpoint up to ARGV[1] (else the
# oldest there is) and the bars after it up to ARGV[2], read atomically: a commit that trims
# both streams cannot come in between.
CHECKPOINT_READ_SCRIPT = """
local found = redis.call('XREVRANGE', KEYS[2], ARGV[1], '-', 'COUNT', 1)
if #found == 0 then found = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1) end
local bars = {}
if #found == 1 then bars = redis.call('XRANGE', KEYS[3], '(' .. found[1][1], '(' .. ARGV[2]) end
return {redis.call('HGET', KEYS[1], 'specs') or false, found, bars}
"""

Entry = tuple[str, dict[str, str]]


@dataclass
class Commit:
    """All writes of one guarded step, applied atomically or not at all."""

    guard_key: str
    expected: str
    guard_field: str = "ver"
    delete: list[str] = field(default_factory=list)
    hset: dict[str, dict[str, str]] = field(default_factory=dict)
    hdel: dict[str, list[str]] = field(default_factory=dict)
    xadd: list[tuple[str, str, int, dict[str, str]]] = field(default_factory=list)
    trim: list[tuple[str, str, str]] = field(default_factory=list)
    updates: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # Further guards ``(key, field, expected)``: checked and bumped like the first one.
    guards: list[tuple[str, str, str]] = field(default_factory=list)

    def is_empty(self) -> bool:
        """Return whether the commit writes nothing (then it needs no guard check)."""
        return not (
            self.delete
            or self.hset
            or self.hdel
            or self.xadd
            or self.trim
            or self.updates
            or self.guards
        )

    def merge(self, other: Commit) -> None:
        """Add ``other``'s writes after this commit's, and its guards to this one's.

        The merged commit applies both steps atomically or neither: each guard must still
        hold, and each guarded version is bumped, as if both had committed on their own.
        """
        self.guards += [(other.guard_key, other.guard_field, other.expected), *other.guards]
        self.delete += other.delete
        for key, mapping in other.hset.items():
            self.hset.setdefault(key, {}).update(mapping)
        for key, names in other.hdel.items():
            self.hdel.setdefault(key, []).extend(names)
        self.xadd += other.xadd
        self.trim += other.trim
        self.updates += other.updates

    def keys_and_args(self, updates_maxlen: int) -> tuple[list[str], list[str | int]]:
        """Return the script's KEYS and ARGV (layout above ``COMMIT_SCRIPT``)."""
        key_list = [self.guard_key, keys.UPDATES, keys.UPDATES_SEQ]
        index: dict[str, int] = {}

        def slot(key: str) -> int:
            if key not in index:
                key_list.append(key)
                index[key] = len(key_list)
            return index[key]

        hset = [(k, v) for k, v in self.hset.items() if v]
        hdel = [(k, v) for k, v in self.hdel.items() if v]
        args: list[str | int] = [self.guard_field, self.expected, updates_maxlen]
        args += (len(self.delete), len(hset), len(hdel), len(self.xadd), len(self.trim))
        args += (len(self.updates), len(self.guards))
        for key, name, expected in self.guards:
            args += (slot(key), name, expected)
        for key in self.delete:
            args.append(slot(key))
        for key, mapping in hset:
            args += (slot(key), 2 * len(mapping), *_flatten(mapping))
        for key, names in hdel:
            args += (slot(key), len(names), *names)
        for key, entry_id, maxlen, fields in self.xadd:
            args += (slot(key), entry_id, maxlen, 2 * len(fields), *_flatten(fields))
        for key, strategy, threshold in self.trim:
            args += (slot(key), strategy, threshold)
        for kind, symbol, data in self.updates:
            args += (kind, symbol, json.dumps(data, separators=(",", ":")))
        return key_list, args


def _entry(raw: Any) -> Entry:
    # A stream entry as a script returns it: [id, [field, value, ...]].
    entry_id, flat = raw
    return entry_id, dict(zip(flat[::2], flat[1::2], strict=True))


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
        self._checkpoint_read = client.register_script(CHECKPOINT_READ_SCRIPT)

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
        writes = {
            index: commit.keys_and_args(self.updates_maxlen)
            for index, commit in enumerate(commits)
            if not commit.is_empty()
        }
        wanted, results = list(writes), dict[int, Any]()
        with translate_errors():
            # EVALSHA, not the Script object: redis-py's pipeline asks SCRIPT EXISTS first,
            # one more round trip per step. A script cache emptied by a Redis restart or
            # SCRIPT FLUSH refuses a commit with NOSCRIPT before it runs: those are sent again
            # once the script is loaded.
            for _ in range(2):
                pipe = self.client.pipeline(transaction=False)
                for index in wanted:
                    key_list, args = writes[index]
                    pipe.evalsha(self._commit.sha, len(key_list), *key_list, *args)
                answers = pipe.execute(raise_on_error=False) if wanted else []
                results.update(zip(wanted, answers, strict=True))
                wanted = [i for i in wanted if isinstance(results[i], NoScriptError)]
                if not wanted:
                    break
                self.client.script_load(COMMIT_SCRIPT)
            for answer in results.values():
                if isinstance(answer, Exception):
                    raise answer
        return [i not in results or int(results[i]) >= 0 for i in range(len(commits))]

    def stream_range(
        self, name: str, start: str = "-", end: str = "+", count: int | None = None
    ) -> list[tuple[str, dict[str, str]]]:
        """Return stream entries between ids ``start`` and ``end``, oldest first."""
        with translate_errors():
            return list(self.client.xrange(name, start, end, count=count))

    def checkpoint_read(
        self, engine: str, checkpoints: str, stream: str, last: str, end: str
    ) -> tuple[str | None, Entry | None, list[Entry]]:
        """Return (atomically) an engine hash's ``specs``, the checkpoint to replay from and the bars after it.

        The checkpoint is the newest with an id up to ``last``, else the oldest there is; the
        bars are those after it and before ``end`` (exclusive).
        """
        with translate_errors():
            specs, found, bars = self._checkpoint_read(
                keys=[engine, checkpoints, stream], args=[last, end]
            )
        return specs, _entry(found[0]) if found else None, [_entry(e) for e in bars]

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
            # The message goes into public 503 bodies: the kind of failure, not Redis's address.
            raise TemporaryError(f"redis unavailable ({type(exc).__name__})") from exc
        if isinstance(exc, redis.ResponseError) and (cause := refused_write_cause(exc)):
            raise TemporaryError(cause) from exc
        if isinstance(exc, redis.ResponseError) and "LOADING" in str(exc):
            raise TemporaryError("redis is loading its data") from exc


WRITES_REFUSED = "Redis refuses writes"


def refused_write_cause(error: BaseException) -> str | None:
    """Return why Redis refuses writes, if ``error`` is such a refusal (else None)."""
    if isinstance(error, redis.exceptions.OutOfMemoryError) or str(error).startswith("OOM"):
        return f"{WRITES_REFUSED}: out of memory"
    if isinstance(error, redis.exceptions.ReadOnlyError):
        return f"{WRITES_REFUSED}: read-only replica"
    if "MISCONF" in str(error):
        return f"{WRITES_REFUSED}: persistence is failing"
    return None
