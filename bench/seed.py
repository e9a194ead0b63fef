"""Fill a bench Redis with real pipeline state: mock quotes through process_quotes."""

from __future__ import annotations

from wagehood.providers.mock import MockProvider
from wagehood.service.config import load_config
from wagehood.service.pipeline import PipelineContext, process_quotes
from wagehood.service.signals import evaluate_strategies
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

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
