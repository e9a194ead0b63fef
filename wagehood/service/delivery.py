"""Delivery of signals and alerts to webhook channels: at least once, deduplicable, logged.

Flow (docs/api.md "Alerts and delivery"):

1. The strategy step's guarded commit writes one outbox entry per signal or alert
   (``wh:outbox``) together with the signal itself, so a crash after the commit cannot lose
   a delivery.
2. ``drain_outbox`` (run by the worker after every successful evaluation) copies each event
   to ``wh:event:<id>`` (kept ``EVENT_TTL``), creates a ``pending`` record in the log of every
   channel whose filters accept it, enqueues one delivery per channel and only then removes
   the outbox entry. A crash in between leaves the entry for the next drain: the enqueue is
   repeated, never skipped.
3. ``deliver`` makes one attempt under a short per-delivery lock, skips a delivery already
   delivered or dead (so repeated enqueues and redelivered tasks do not send twice), signs
   the body, and says whether to stop or retry after how long. A worker killed mid-request
   sends the same event id and body again; receivers drop the repeat by id.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from wagehood import __version__
from wagehood.alerts import payloads, retry, signing, transport
from wagehood.alerts.channels import Channel, build_channel
from wagehood.alerts.log import DONE, Attempt, Result, new_record, settle
from wagehood.alerts.transport import Network
from wagehood.alerts.urls import Resolver, checked_addresses, redact, resolve
from wagehood.errors import ConflictError, NotFoundError, ValidationError
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.locks import try_lock
from wagehood.storage.redis_store import RedisStore, translate_errors

logger = logging.getLogger(__name__)

EVENT_TTL = 7 * 86400
MAX_CHANNELS = 50
MAX_LOG = 1000
MAX_DEAD = 10_000
STUCK_SECONDS = 900
Enqueue = Callable[[str, str], None]


# ---- channels ----------------------------------------------------------------------------


def list_channels(store: RedisStore) -> list[Channel]:
    """Return every channel, sorted by name."""
    with translate_errors():
        raw = store.client.hgetall(keys.CHANNELS)
    return [Channel.from_dict(json.loads(raw[name])) for name in sorted(raw)]


def get_channel(store: RedisStore, name: str) -> Channel:
    """Return channel ``name`` or raise ``NotFoundError``."""
    with translate_errors():
        raw = store.client.hget(keys.CHANNELS, name)
    if raw is None:
        raise NotFoundError(f"no delivery channel named {name!r}")
    return Channel.from_dict(json.loads(raw))


def create_channel(
    store: RedisStore, settings: Settings, data: dict[str, Any], resolver: Resolver = resolve
) -> tuple[Channel, str]:
    """Validate and store a channel; return it with its signing secret (shown only now)."""
    channel = build_channel(
        data, allow_private=settings.webhook_allow_private, now=time.time(), resolver=resolver
    )
    secret = signing.new_secret()
    with translate_errors():
        if store.client.hlen(keys.CHANNELS) >= MAX_CHANNELS:
            raise ConflictError(f"at most {MAX_CHANNELS} delivery channels")
        if not store.client.hsetnx(keys.CHANNELS, channel.name, _encode(channel)):
            raise ConflictError(f"a delivery channel named {channel.name!r} exists")
        store.client.hset(keys.CHANNEL_SECRETS, channel.name, secret)
    return channel, secret


def update_channel(
    store: RedisStore,
    settings: Settings,
    name: str,
    data: dict[str, Any],
    resolver: Resolver = resolve,
) -> Channel:
    """Change some fields of channel ``name`` (pause with ``{"enabled": false}``)."""
    base = get_channel(store, name)
    allow = settings.webhook_allow_private
    channel = build_channel(
        data, allow_private=allow, now=time.time(), base=base, resolver=resolver
    )
    with translate_errors():
        store.client.hset(keys.CHANNELS, name, _encode(channel))
    return channel


def delete_channel(store: RedisStore, name: str) -> None:
    """Delete channel ``name``, its secret and its log; pending deliveries are dropped."""
    get_channel(store, name)
    with translate_errors():
        pipe = store.client.pipeline(transaction=True)
        pipe.hdel(keys.CHANNELS, name)
        pipe.hdel(keys.CHANNEL_SECRETS, name)
        pipe.delete(keys.deliveries(name))
        pipe.execute()


def _encode(channel: Channel) -> str:
    return json.dumps(channel.to_dict(reveal_url=True), separators=(",", ":"))


# ---- outbox ------------------------------------------------------------------------------


def drain_outbox(store: RedisStore, enqueue: Enqueue) -> int:
    """Fan every outbox event out to the channels that accept it; return deliveries enqueued."""
    with translate_errors():
        outbox = store.client.hgetall(keys.OUTBOX)
    if not outbox:
        return 0
    channels = list_channels(store)
    count = 0
    for event_id, text in outbox.items():
        targets = [c.name for c in channels if c.accepts(json.loads(text))]
        _register(store, event_id, text, targets)
        for name in targets:
            enqueue(name, event_id)
        count += len(targets)
        with translate_errors():
            store.client.hdel(keys.OUTBOX, event_id)
    return count


def _register(store: RedisStore, event_id: str, text: str, targets: list[str]) -> None:
    event = json.loads(text)
    with translate_errors():
        pipe = store.client.pipeline(transaction=False)
        pipe.set(keys.delivery_event(event_id), text, nx=True, ex=EVENT_TTL)
        for name in targets:
            record = new_record(name, event, time.time())
            pipe.hsetnx(keys.deliveries(name), event_id, json.dumps(record))
        pipe.execute()
        for name in targets:
            if store.client.hlen(keys.deliveries(name)) > MAX_LOG + MAX_LOG // 10:
                _prune(store, name)


def _prune(store: RedisStore, channel: str) -> None:
    records = delivery_log(store, channel, limit=None)
    finished = [r for r in records if r["status"] in DONE][MAX_LOG // 2 :]
    if finished:
        with translate_errors():
            store.client.hdel(keys.deliveries(channel), *[r["event_id"] for r in finished])


# ---- one attempt -------------------------------------------------------------------------


def deliver(
    store: RedisStore,
    settings: Settings,
    channel_name: str,
    event_id: str,
    network: Network | None = None,
) -> Attempt:
    """Make one delivery attempt of ``event_id`` to ``channel_name``.

    ``network`` (resolver and socket layer) is the test seam; the default is the system's.
    """
    lock = keys.delivery_lock(channel_name, event_id)
    with try_lock(store, lock, settings.webhook_timeout + 5) as acquired:
        if not acquired:
            return Attempt("busy", settings.webhook_timeout + 1)
        return _attempt(store, settings, channel_name, event_id, network or Network())


def _attempt(
    store: RedisStore, settings: Settings, name: str, event_id: str, network: Network
) -> Attempt:
    with translate_errors():
        channel_raw, secret, event_raw, record_raw = (
            store.client.pipeline(transaction=False)
            .hget(keys.CHANNELS, name)
            .hget(keys.CHANNEL_SECRETS, name)
            .get(keys.delivery_event(event_id))
            .hget(keys.deliveries(name), event_id)
            .execute()
        )
    if channel_raw is None or secret is None or record_raw is None:
        return Attempt("skipped")  # channel deleted, or its log pruned
    record = json.loads(record_raw)
    if record["status"] in DONE:
        return Attempt("skipped")
    record["attempts"] += 1
    if event_raw is None:
        result = Result("permanent", error="event expired")
    else:
        _save(store, record | {"status": "sending"})
        channel = Channel.from_dict(json.loads(channel_raw))
        request = _signed(secret, json.loads(event_raw), record, channel)
        result = _send(settings, channel, request, network)
    return _finish(store, settings, record, result)


def _signed(
    secret: str, event: dict[str, Any], record: dict[str, Any], channel: Channel
) -> tuple[bytes, dict[str, str]]:
    body = payloads.body(channel.format, event)
    attempt = record["attempts"]
    headers = signing.headers(secret, body, event["event_id"], attempt, int(time.time()))
    return body, headers | {"User-Agent": f"wagehood/{__version__}"}


def _send(
    settings: Settings, channel: Channel, request: tuple[bytes, dict[str, str]], network: Network
) -> Result:
    import httpx  # noqa: PLC0415 - lazily: importing httpx loads click (tests/test_imports.py)

    try:
        addresses = checked_addresses(channel.url, settings.webhook_allow_private, network.resolver)
    except ValidationError as refused:
        return Result("permanent", error=f"refused target: {refused}")
    started = time.monotonic()
    pinned = addresses[0] if addresses else None
    try:
        with transport.client(pinned, settings.webhook_timeout, network.backend) as http:
            response = http.post(channel.url, content=request[0], headers=request[1])
    except httpx.HTTPError as failure:
        text = f"{type(failure).__name__}: {failure}".replace(channel.url, redact(channel.url))
        return Result("retry", error=text[:300], latency_ms=_since(started))
    code = response.status_code
    kind = retry.outcome(code)
    return Result(
        kind,
        status_code=code,
        error=None if kind == "delivered" else f"HTTP {code}",
        latency_ms=_since(started),
        retry_after=retry.retry_after(response.headers.get("Retry-After"), time.time()),
    )


def _since(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _finish(
    store: RedisStore, settings: Settings, record: dict[str, Any], result: Result
) -> Attempt:
    updated, attempt = settle(
        record, result, settings.webhook_max_attempts, settings.webhook_retry_backoff
    )
    _save(store, updated, dead=attempt.status == "dead")
    return attempt


def _save(store: RedisStore, record: dict[str, Any], *, dead: bool = False) -> None:
    # A dead delivery's status and its dead letter are written in one transaction: a reader
    # (or a crash) never sees one without the other.
    record["updated_at"] = time.time()
    with translate_errors():
        pipe = store.client.pipeline(transaction=dead)
        pipe.hset(keys.deliveries(record["channel"]), record["event_id"], json.dumps(record))
        if dead:
            _dead_letter(pipe, record)
        pipe.execute()


def _dead_letter(pipe: Any, record: dict[str, Any]) -> None:
    entry = {k: record[k] for k in ("channel", "event_id", "summary", "attempts", "error")}
    entry["at"] = time.time()
    logger.warning(
        "delivery of %s to %s is dead: %s", record["event_id"], record["channel"], record["error"]
    )
    pipe.lpush(keys.DELIVERY_DEAD, json.dumps(entry))
    pipe.ltrim(keys.DELIVERY_DEAD, 0, MAX_DEAD - 1)


# ---- log, dead letters, redelivery -------------------------------------------------------


def delivery_log(store: RedisStore, channel: str, limit: int | None = 100) -> list[dict[str, Any]]:
    """Return a channel's deliveries, newest first (status, attempts, latency, last error)."""
    with translate_errors():
        raw = store.client.hgetall(keys.deliveries(channel))
    records = sorted((json.loads(v) for v in raw.values()), key=lambda r: -r["created_at"])
    return records[:limit] if limit is not None else records


def dead_letters(store: RedisStore, limit: int = 100) -> list[dict[str, Any]]:
    """Return the dead-lettered deliveries, newest first."""
    with translate_errors():
        return [json.loads(v) for v in store.client.lrange(keys.DELIVERY_DEAD, 0, limit - 1)]


def redeliver(store: RedisStore, channel: str, enqueue: Enqueue, event: str | None = None) -> int:
    """Send the channel's dead deliveries (or just ``event``) again; return how many.

    Deliveries not finished for ``STUCK_SECONDS`` (longer than any backoff: their task was
    lost, e.g. the broker refused an enqueue) are sent again too.
    """
    get_channel(store, channel)
    stuck_before = time.time() - STUCK_SECONDS
    picked = [
        r
        for r in delivery_log(store, channel, limit=None)
        if event in (None, r["event_id"])
        and (
            r["status"] == "dead" or (r["status"] != "delivered" and r["updated_at"] < stuck_before)
        )
    ]
    for record in picked:
        _save(store, record | {"status": "pending", "attempts": 0, "error": None})
        _forget_dead(store, channel, record["event_id"])
        with translate_errors():
            store.client.expire(keys.delivery_event(record["event_id"]), EVENT_TTL)
        enqueue(channel, record["event_id"])
    return len(picked)


def _forget_dead(store: RedisStore, channel: str, event_id: str) -> None:
    with translate_errors():
        for raw in store.client.lrange(keys.DELIVERY_DEAD, 0, -1):
            entry = json.loads(raw)
            if entry["channel"] == channel and entry["event_id"] == event_id:
                store.client.lrem(keys.DELIVERY_DEAD, 0, raw)
