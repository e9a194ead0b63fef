"""Fill a bench Redis with real pipeline state.

``seed`` runs mock quotes through process_quotes; ``warm_copies`` gives a whole watchlist the
state a warmed-up symbol has, as a running system holds it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import redis

from wagehood.providers.mock import MockProvider
from wagehood.service import warmup
from wagehood.service.config import load_config
from wagehood.service.pipeline import PipelineContext, process_quotes
from wagehood.service.signals import evaluate_strategies
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.breaker import provider_breaker
from wagehood.storage.redis_store import RedisStore

COPY_CHUNK = 100  # symbols restored per round trip

START = 1_717_200_000  # a whole minute (2024-06-01T00:00:00Z)


def seed(url: str, names: list[str], minutes: int, step: int = 30) -> RedisStore:
    """Run the real pipeline over ``minutes`` of mock quotes (one every ``step`` seconds)."""
    settings = Settings.from_env({"REDIS_URL": url})
    store = RedisStore.from_url(url, settings.redis_streams_maxlen)
    ctx = PipelineContext.of(store, load_config(store, settings), settings)
    provider = MockProvider()
    for t in range(START, START + minutes * 60, step):
        refs = process_quotes(ctx, provider.get_quotes(names, float(t)).quotes)
        if refs:
            evaluate_strategies(ctx, refs)
    return store


def warm_copies(url: str, names: Sequence[str]) -> float:
    """Warm ``names[0]`` from the mock's history as a watched symbol is; copy it to the rest.

    Warming every symbol takes about half a second each (minutes per thousand symbols), so
    the first is warmed through ``warmup.warm`` (``WARMUP_BARS`` of every timeframe, up to
    now) and its keys are copied under every other symbol's (``DUMP``/``RESTORE``): each one
    then has full engines, rings and look-backs, its warm-up is done, and its bar closes cost
    what a warm symbol's do. Returns the seconds the copies took.
    """
    settings = Settings.from_env({"REDIS_URL": url})
    store = RedisStore.from_url(url, settings.redis_streams_maxlen)
    ctx = PipelineContext.of(store, load_config(store, settings), settings)
    admin = redis.Redis.from_url(url)  # bytes: DUMP payloads are binary
    template = names[0]
    breaker = provider_breaker(admin, "mock")
    warmup.warm(
        ctx, MockProvider(), breaker, template, warmup_bars=settings.warmup_bars, slice_seconds=1e9
    )
    started = time.monotonic()
    tag = keys.symbol_prefix(template)
    found = sorted(admin.scan_iter(match=f"{tag}:*", count=1000))
    pipe = admin.pipeline(transaction=False)
    for key in found:
        pipe.dump(key)
    payloads = pipe.execute()
    for start in range(1, len(names), COPY_CHUNK):
        pipe = admin.pipeline(transaction=False)
        for name in names[start : start + COPY_CHUNK]:
            other = keys.symbol_prefix(name)
            for key, payload in zip(found, payloads, strict=True):
                pipe.restore(key.decode().replace(tag, other, 1), 0, payload, replace=True)
        pipe.execute()
    admin.sadd(keys.SYNC_KNOWN, *names)
    admin.close()
    store.client.close()
    return time.monotonic() - started
