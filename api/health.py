"""Health for the monitor routes: the broker check, and one shared report per process.

The checks themselves are ``wagehood.service.health``; this module adds what needs the web
process: the Celery broker check (a fresh connection with a connect timeout, never a pooled
one), a Redis client with short timeouts for health alone, and the ``SharedResult`` through
which concurrent health requests share one report a second.
"""

from __future__ import annotations

import importlib.metadata
import platform
import time
from typing import Any, cast

import celery
import redis
from flask import current_app

from api.extensions import ApiState, state
from wagehood import __version__
from wagehood.errors import TemporaryError
from wagehood.service import health
from wagehood.storage.redis_store import RedisStore, translate_errors

HEALTH_TIMEOUT = 2.0  # seconds: Redis socket and broker connect timeouts of a health check
SHARED_FOR = 1.0  # seconds one report serves every request
WAIT_AT_MOST = 3.0  # seconds a request waits for the report being computed


def broker_check(app_state: ApiState) -> dict[str, Any]:
    """Open (and close) a connection to the Celery broker, with a connect timeout."""
    with app_state.celery.connection_for_write() as connection:
        try:
            connection.ensure_connection(max_retries=1, timeout=HEALTH_TIMEOUT)
        except Exception as error:  # kombu raises several unrelated types here
            raise TemporaryError(f"broker unreachable: {type(error).__name__}") from error
    return {"status": "ok"}


def versions(store: RedisStore) -> dict[str, str | None]:
    """Return the versions of Wagehood, Python and the servers and libraries it runs on."""
    try:
        with translate_errors():
            redis_version = str(store.client.info("server").get("redis_version"))
    except TemporaryError:
        redis_version = None
    return {
        "wagehood": __version__,
        "python": platform.python_version(),
        "redis": redis_version,
        "celery": celery.__version__,
        "flask": importlib.metadata.version("flask"),
    }


def _build(app_state: ApiState) -> health.SharedResult:
    client = redis.Redis.from_url(
        app_state.settings.redis_url,
        decode_responses=True,
        socket_timeout=HEALTH_TIMEOUT,
        socket_connect_timeout=HEALTH_TIMEOUT,
    )
    store = RedisStore(client)

    def compute() -> dict[str, Any]:
        body = health.report(store, app_state.settings, lambda: broker_check(app_state))
        found = versions(store) if body["status"] != "down" else {"wagehood": __version__}
        return body | {"version": __version__, "versions": found}

    def unknown() -> dict[str, Any]:
        redis_status = {"status": "down", "error": "health check timed out"}
        return {"status": "down", "cause": "Redis not answering", "time": time.time()} | {
            "components": {"redis": redis_status}
        }

    return health.SharedResult(compute, unknown, ttl=SHARED_FOR, wait=WAIT_AT_MOST)


def report(detailed: bool) -> dict[str, Any]:
    """Return this process's shared health report (details only if ``detailed``)."""
    extensions = current_app.extensions
    if "wagehood.health" not in extensions:
        extensions["wagehood.health"] = _build(state())
    body = cast(health.SharedResult, extensions["wagehood.health"]).get()
    return body if detailed else health.public_view(body)
