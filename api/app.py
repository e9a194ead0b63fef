"""The Flask application factory: ``create_app(settings)`` reads like a table of contents."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.middleware.proxy_fix import ProxyFix

from api import (
    alerts,
    auth,
    config,
    dashboard,
    data,
    docs,
    export,
    indicators,
    monitor,
    signals,
    ws,
)
from api.errors import register_errorhandlers
from api.extensions import ApiState, celery_client
from api.hub import QUEUE_SIZE, Hub
from api.live_view import register_live_view
from api.metrics import register_metrics
from api.schemas import ApiErrorSchema
from api.security import register_security
from wagehood import __version__
from wagehood.service import plugins
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

logger = logging.getLogger(__name__)


class WagehoodApi(Api):  # type: ignore[misc]
    """flask-smorest's Api documenting our one error body."""

    ERROR_SCHEMA = ApiErrorSchema


MAX_CONTENT_LENGTH = 1024 * 1024
WS_MAX_MESSAGE = 64 * 1024


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the API for ``settings`` (default: from the environment).

    ``overrides`` are extra Flask config values (tests use ``WS_QUEUE_SIZE``).
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)
    configure(app, settings, overrides)
    register_extensions(app, settings)
    register_blueprints(app)
    register_errorhandlers(app)
    return app


def configure(app: Flask, settings: Settings, overrides: dict[str, Any]) -> None:
    """Set Flask, OpenAPI and WebSocket configuration."""
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        JSON_SORT_KEYS=False,
        API_TITLE="Wagehood API",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        WS_QUEUE_SIZE=QUEUE_SIZE,
        WS_SEND_BUFFER=256 * 1024,
        WS_AUTH_CHECK_SECONDS=2.0,
        WS_MAX_CLIENTS=None,  # gunicorn_conf sets it from its thread count
        SOCK_SERVER_OPTIONS={"ping_interval": 25, "max_message_size": WS_MAX_MESSAGE},
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    app.config.update(overrides)
    if settings.trusted_proxies:
        # Behind N trusted proxies the client is the address the Nth one saw (auth lockout,
        # rate limits of anonymous calls, logs); without any, X-Forwarded-* is ignored.
        proxies = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    plugins.configure(settings)  # import failures are logged now and shown by /health


def register_extensions(app: Flask, settings: Settings) -> None:
    """Create the store, Celery client, WebSocket hub, auth and rate limiter."""
    store = RedisStore.from_url(settings.redis_url, settings.redis_streams_maxlen)
    app_state = ApiState(settings, store, celery_client(settings), Hub(store))
    app.extensions["wagehood"] = app_state
    app_state.limiter = register_security(app)
    register_metrics(app)
    register_live_view(app)  # last: auth, the limiter and metrics run before it


def register_blueprints(app: Flask) -> None:
    """Register every resource's blueprint and the OpenAPI document."""
    api = WagehoodApi(app)
    for blueprint in (
        data.blp,
        export.blp,
        indicators.blp,
        signals.blp,
        config.blp,
        monitor.blp,
        monitor.metrics_blp,
        auth.blp,
        alerts.blp,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(ws.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(dashboard.bp)
    app.extensions["wagehood_api"] = api
