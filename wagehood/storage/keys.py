"""Every Redis key name Wagehood uses, in one place.

A symbol's keys share the hash tag ``{SYMBOL}`` so that, on Redis Cluster, they live in one
slot and the per-symbol Lua script can touch them together.
"""

from __future__ import annotations

from wagehood.types import Timeframe

PREFIX = "wh"

WATCHLIST = f"{PREFIX}:watchlist"  # hash: symbol -> JSON {"data_provider", "added_at"}
CONFIG = f"{PREFIX}:config"  # hash: section (indicators|strategies|system) -> JSON
CONFIG_VERSION = f"{PREFIX}:config:version"  # counter, bumped on every config change
UPDATES = f"{PREFIX}:updates"  # stream of every update, ids "<seq>-1"
UPDATES_SEQ = f"{PREFIX}:updates:seq"  # counter giving the updates stream its sequence
SIGNALS = f"{PREFIX}:signals"  # stream of every signal (all symbols)
DEAD_LETTERS = f"{PREFIX}:deadletters"  # stream of tasks that failed for good
API_KEYS = f"{PREFIX}:apikeys"  # hash: key id -> JSON {hash, name, permissions, ...}
API_KEYS_REVISION = f"{PREFIX}:apikeys:revision"  # counter, bumped by every revocation
JWT_SECRET = f"{PREFIX}:jwt:secret"  # retired: where old versions kept the JWT secret
EXPORTS = f"{PREFIX}:exports"  # hash: export id -> JSON status
EXPORTS_CREATED = f"{PREFIX}:exports:created"  # sorted set: export id -> time requested
BEAT_HEARTBEAT = f"{PREFIX}:beat:heartbeat"  # epoch seconds of the last dispatch
STATS = f"{PREFIX}:stats"  # hash of counters (bars, ticks, errors, ...)
LATENCY = f"{PREFIX}:stats:latency"  # capped list of tick-to-state latencies (ms)
LATENCY_SECONDS = f"{PREFIX}:stats:latency_seconds"  # hash: tick-to-state histogram buckets
ALERTS = f"{PREFIX}:alerts"  # hash: alert id -> JSON
BREAKER_PREFIX = f"{PREFIX}:breaker"  # pybreaker storage namespace, per provider
BUDGET_PREFIX = f"{PREFIX}:budget"  # per provider: ":log" zset of request times, ":state" hash
ALERTS_HISTORY = f"{PREFIX}:alerts:history"  # stream of alerts raised and cleared
ALERTS_LOCK = f"{PREFIX}:alerts:lock"  # short lock: one alert evaluation at a time
WORKERS = f"{PREFIX}:workers"  # hash: worker node name -> epoch seconds of its heartbeat
IO_WORKERS = f"{PREFIX}:workers:io"  # hash: io worker node -> last heartbeat (epoch s)
BEAT_PROCESS = f"{PREFIX}:beat:process"  # epoch seconds of the beat process's own heartbeat
HEALTH_PROBE = f"{PREFIX}:health:probe"  # short-lived key health writes to see writes accepted
TASK_SECONDS = f"{PREFIX}:stats:tasks"  # hash: "<task>|<bucket>" -> count, "<task>|sum"
STATS_SAMPLES = f"{PREFIX}:stats:samples"  # capped list of JSON counter snapshots (rates)
AUTH_FAILURES = f"{PREFIX}:authfail"  # prefix: failed authentications per client address
ALERT_RULES = f"{PREFIX}:alertrules"  # hash: rule name -> JSON rule (issue 9)
CHANNELS = f"{PREFIX}:channels"  # hash: channel name -> JSON channel (no secret)
CHANNEL_SECRETS = f"{PREFIX}:channels:secrets"  # hash: channel name -> signing secret
OUTBOX = f"{PREFIX}:outbox"  # hash: event id -> JSON event, written with the signal commit
DELIVERY_DEAD = f"{PREFIX}:deliveries:dead"  # capped list of JSON dead-lettered deliveries
PLUGIN_FAILURES = f"{PREFIX}:plugins:failures"  # hash: "<kind>:<name>" -> failures counted
PLUGINS_DISABLED = f"{PREFIX}:plugins:disabled"  # hash: "<kind>:<name>" -> JSON {reason, at}
SYNC_KNOWN = f"{PREFIX}:sync:known"  # set: watched symbols the warm-up bookkeeping has seen
SYNC_PENDING = f"{PREFIX}:sync:pending"  # sorted set: symbol -> time its warm-up may start
SYNC_ACTIVE = f"{PREFIX}:sync:active"  # sorted set: symbol -> heartbeat of its running warm-up
SYNC_CHECKED = f"{PREFIX}:sync:checked"  # expiring marker: the last gap check of all symbols


def symbol_prefix(symbol: str) -> str:
    """Return the prefix of every key of ``symbol``: its hash tag keeps them in one cluster slot."""
    return f"{PREFIX}:{{{symbol}}}"


def live(symbol: str) -> str:
    """Return the hash of a symbol's live state: version, last quote, in-progress bars."""
    return f"{symbol_prefix(symbol)}:live"


def engine(symbol: str, timeframe: Timeframe) -> str:
    """Return the hash of a symbol's indicator engine state for one timeframe."""
    return f"{symbol_prefix(symbol)}:engine:{timeframe.value}"


def bars(symbol: str, timeframe: Timeframe) -> str:
    """Return the stream of closed bars, compact (ids ``<bar time>-1``, see service/barstore)."""
    return f"{symbol_prefix(symbol)}:bars:{timeframe.value}"


def checkpoints(symbol: str, timeframe: Timeframe) -> str:
    """Return the stream of packed engine states the bars stream's values are recomputed from.

    Ids ``<last applied bar time>-1`` (``0-1``: before the stream's first bar).
    """
    return f"{symbol_prefix(symbol)}:ckpt:{timeframe.value}"


def strategy_state(symbol: str, timeframe: Timeframe) -> str:
    """Return the hash holding the last bar time strategies were evaluated on."""
    return f"{symbol_prefix(symbol)}:strategy:{timeframe.value}"


def sync(symbol: str) -> str:
    """Return the hash of a symbol's warm-up / gap-fill status and progress."""
    return f"{symbol_prefix(symbol)}:sync"


def symbol_signals(symbol: str) -> str:
    """Return the stream of a symbol's signals (all timeframes)."""
    return f"{symbol_prefix(symbol)}:signals"


def deliveries(channel: str) -> str:
    """Return the hash of a channel's delivery log: event id -> JSON delivery record."""
    return f"{PREFIX}:deliveries:{channel}"


def delivery_event(event_id: str) -> str:
    """Return the key holding an event's JSON while its deliveries may still be attempted."""
    return f"{PREFIX}:event:{event_id}"


def delivery_lock(channel: str, event_id: str) -> str:
    """Return the short lock held while one delivery attempt is in flight."""
    return f"{PREFIX}:deliveries:{channel}:lock:{event_id}"


def export_file(export_id: str) -> str:
    """Return the key holding a finished export's content."""
    return f"{PREFIX}:export:{export_id}"


def export_usage(key_id: str) -> str:
    """Return the hash counting the rows and bytes key ``key_id`` exported in the window."""
    return f"{PREFIX}:exports:usage:{key_id}"


def bar_id(time: int) -> str:
    """Return the stream id of the bar starting at ``time``."""
    return f"{time}-1"


def seq_id(seq: int) -> str:
    """Return the updates-stream id of sequence number ``seq``."""
    return f"{seq}-1"
