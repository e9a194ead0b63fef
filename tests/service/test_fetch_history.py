"""History goes through the same circuit breaker (shared in Redis) and error classes as quotes."""

from __future__ import annotations

import pytest
import redis as redis_lib
from pytest_httpserver import HTTPServer

from wagehood.errors import ProviderUnavailableError
from wagehood.providers.mock import MockProvider
from wagehood.providers.yahoo import YahooProvider
from wagehood.service.fetch import fetch, fetch_history
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.breaker import FAIL_MAX, breaker_state, provider_breaker
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Timeframe

NOW = 1_732_550_400 + 15 * 3600 + 610


@pytest.fixture
def store(settings: Settings) -> RedisStore:
    return RedisStore.from_url(settings.redis_url)


def breaker_client(settings: Settings) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(settings.redis_url)


def test_history_returns_the_providers_bars_and_counts_failed_symbols(
    store: RedisStore, settings: Settings
) -> None:
    mock = MockProvider(42)
    end = Timeframe.M5.floor(NOW)
    breaker = provider_breaker(breaker_client(settings), "mock")

    result = fetch_history(
        mock, breaker, store, ["AAPL", "bad symbol!"], Timeframe.M5, start=end - 3000, end=end
    )

    assert result.bars == mock.get_bars(["AAPL"], Timeframe.M5, end - 3000, end).bars
    assert len(result.bars["AAPL"]) == 10
    assert list(result.failed) == ["bad symbol!"]
    assert store.client.hget(keys.STATS, "provider_symbol_errors:mock") == "1"


def test_history_failures_open_the_breaker_that_quotes_share(
    httpserver: HTTPServer, store: RedisStore, settings: Settings
) -> None:
    httpserver.expect_request("/v8/finance/chart/SPY").respond_with_data("down", status=503)
    yahoo = YahooProvider(httpserver.url_for(""), timeout=2.0, clock=lambda: NOW)
    end = Timeframe.M1.floor(NOW)
    history_breaker = provider_breaker(breaker_client(settings), "yahoo")
    quotes_breaker = provider_breaker(breaker_client(settings), "yahoo")  # another process's

    for _ in range(FAIL_MAX):  # the last failure opens the circuit and says so
        with pytest.raises(ProviderUnavailableError, match=r"server error|circuit open"):
            fetch_history(
                yahoo, history_breaker, store, ["SPY"], Timeframe.M1, start=end - 60, end=end
            )

    assert breaker_state(store.client, "yahoo") == "open"
    with pytest.raises(ProviderUnavailableError, match="circuit open") as caught:
        fetch(yahoo, quotes_breaker, store, ["SPY"], NOW)
    assert caught.value.retry_after == 30
    assert len(httpserver.log) == FAIL_MAX
    yahoo.close()
