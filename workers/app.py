"""The one Celery app, and the per-process context tasks use (store, config, providers)."""

from __future__ import annotations

import logging
import signal
import time
from functools import cache

import pybreaker
import redis
from celery import Celery
from celery.signals import worker_process_init

from wagehood.providers.base import Provider
from wagehood.providers.registry import build_provider
from wagehood.service import budgets
from wagehood.service.config import RuntimeConfig, config_version, load_config
from wagehood.service.pipeline import PipelineContext
from wagehood.settings import Settings
from wagehood.storage.breaker import provider_breaker
from wagehood.storage.redis_store import RedisStore

logger = logging.getLogger(__name__)

CONFIG_CHECK_SECONDS = 1.0

app = Celery("wagehood", include=["workers.tasks", "workers.exports", "workers.delivery"])
app.config_from_object("celeryconfig")


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
    return PipelineContext(store(), _config.get(), settings().redis_streams_maxlen)


def _ignore_group_signals(**_: object) -> None:
    """Let only the parent decide when a pool process stops.

    honcho (and a terminal's Ctrl-C) signal the whole process group. A prefork child that died
    on that signal would abandon its task mid-way; ignoring it lets the parent's warm shutdown
    finish the running task and stop the child cleanly. A cold shutdown still kills children.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


worker_process_init.connect(_ignore_group_signals)
import workers.observability  # noqa: E402, F401 - signal handlers and the alert task
