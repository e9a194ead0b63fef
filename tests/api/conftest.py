"""API fixtures: app -> client, keys of each permission, a symbol seeded by the real pipeline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server

from api import create_app
from tests.factories import START, context, mock_quotes
from wagehood.service import auth, watchlist
from wagehood.service.pipeline import process_quotes
from wagehood.service.signals import evaluate_strategies
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

SYMBOL = "AAPL"
SEEDED_SECONDS = 3 * 3600


@pytest.fixture
def store(settings: Settings) -> Iterator[RedisStore]:
    """The Redis store the app and the seeding code share."""
    return RedisStore.from_url(settings.redis_url, settings.redis_streams_maxlen)


@pytest.fixture
def app(settings: Settings) -> Flask:
    """The real application on the test Redis."""
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask's test client."""
    return app.test_client()


@dataclass
class Keys:
    """One key per permission level, plus a revoked one."""

    read: str
    write: str
    admin: str
    revoked: str

    def header(self, level: str = "read") -> dict[str, str]:
        """Return the Authorization header for ``level``."""
        return {"Authorization": f"Bearer {getattr(self, level)}"}


@pytest.fixture
def keys(store: RedisStore) -> Keys:
    """Create the keys."""
    revoked = auth.create_key(store, "old", "admin")
    auth.revoke_key(store, revoked.principal.key_id)
    return Keys(
        read=auth.create_key(store, "reader", "read").key,
        write=auth.create_key(store, "writer", "read,write").key,
        admin=auth.create_key(store, "admin", "admin").key,
        revoked=revoked.key,
    )


def seed(store: RedisStore, settings: Settings, symbols: list[str], seconds: int) -> None:
    """Run the real pipeline over ``seconds`` of mock quotes (1 quote per 30 s)."""
    ctx = context(store, settings)
    for quotes in mock_quotes(symbols, START, seconds, step=30):
        refs = process_quotes(ctx, quotes)
        if refs:
            evaluate_strategies(ctx, refs)


@pytest.fixture
def seeded(store: RedisStore, settings: Settings) -> str:
    """AAPL with three hours of 1m bars, indicators and signals; on the watchlist."""
    seed(store, settings, [SYMBOL], SEEDED_SECONDS)
    watchlist.add(store, [(SYMBOL, "mock")])
    return SYMBOL


@pytest.fixture
def fresh(store: RedisStore, settings: Settings) -> str:
    """MSFT with one quote: live state but no closed bar."""
    seed(store, settings, ["MSFT"], 1)
    return "MSFT"


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served by a threaded werkzeug server; yields its base URL (host:port)."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def raw_redis(redis: redis_lib.Redis) -> redis_lib.Redis:
    """Direct Redis access for assertions."""
    return redis
