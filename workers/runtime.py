"""This process's context for tasks and signal handlers: settings, store, providers, config.

Each is built once per process on first use; nothing here imports the Celery app, so the
app (``workers.app``), its signal handlers and its tasks can all depend on this module.
"""

from __future__ import annotations

import time
from functools import cache

import pybreaker
import redis

from wagehood.providers.base import Provider
from wagehood.providers.registry import build_provider
from wagehood.service import budgets
from wagehood.service.config import RuntimeConfig, config_version, load_config
from wagehood.service.pipeline import PipelineContext
from wagehood.settings import Settings
from wagehood.storage.breaker import provider_breaker
from wagehood.storage.redis_store import RedisStore

CONFIG_CHECK_SECONDS = 1.0


@cache
def settings() -> Settings:
    """Return this process's settings (read once from the environment)."""
    return Settings.from_env()


@cache
def store() -> RedisStore:
    """Return this process's Redis store."""
    return RedisStore.from_url(settings().redis_url)


@cache
def breaker(name: str) -> pybreaker.CircuitBreaker:
    """Return the shared circuit breaker of provider ``name``."""
    return provider_breaker(redis.Redis.from_url(settings().redis_url, socket_timeout=10), name)


@cache
def provider(name: str) -> Provider:
    """Return this process's instance of provider ``name``, drawing on its shared budget."""
    return build_provider(name, settings(), budgets.provider_budget(store(), settings(), name))


class _ConfigCache:
    config: RuntimeConfig | None = None
    checked_at = 0.0

    def get(self) -> RuntimeConfig:
        now = time.monotonic()
        if self.config is None or now - self.checked_at > CONFIG_CHECK_SECONDS:
            if self.config is None or config_version(store()) != self.config.version:
                self.config = load_config(store(), settings())
            self.checked_at = now
        return self.config


_config = _ConfigCache()


def context() -> PipelineContext:
    """Return the pipeline context with the current runtime configuration."""
    return PipelineContext.of(store(), _config.get(), settings())
