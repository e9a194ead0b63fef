"""Vendor request budgets on a real Redis, against a fake Yahoo that counts requests."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pybreaker
import pytest
import redis as redis_lib
from pytest_httpserver import HTTPServer

from wagehood.errors import BudgetExceededError, RateLimitedError
from wagehood.providers.registry import build_provider
from wagehood.providers.yahoo import YahooProvider
from wagehood.service import budgets, watchlist
from wagehood.service.fetch import fetch, fetch_history
from wagehood.settings import Settings
from wagehood.storage.breaker import breaker_state, provider_breaker
from wagehood.storage.budget import RequestBudget
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Timeframe

CHART = {
    "chart": {
        "result": [
            {
                "meta": {"regularMarketPrice": 10.0, "regularMarketTime": 1_700_000_000},
                "indicators": {"quote": [{}]},
            }
        ],
        "error": None,
    }
}
SYMBOLS = [f"S{i:02d}" for i in range(50)]


@pytest.fixture
def store(settings: Settings) -> RedisStore:
    return RedisStore.from_url(settings.redis_url)


@pytest.fixture
def yahoo_settings(settings: Settings, httpserver: HTTPServer) -> Settings:
    httpserver.expect_request(re.compile(r"/v8/finance/chart/.*")).respond_with_json(CHART)
    return settings.replace(yahoo_base_url=httpserver.url_for(""), yahoo_requests_per_minute=30)


@pytest.fixture
def yahoo(store: RedisStore, yahoo_settings: Settings) -> Iterator[YahooProvider]:
    budget = budgets.provider_budget(store, yahoo_settings, "yahoo")
    provider = build_provider("yahoo", yahoo_settings, budget)
    assert isinstance(provider, YahooProvider)
    yield provider
    provider.close()


def test_the_default_yahoo_case_is_said_plainly() -> None:
    demand = budgets.Demand("yahoo", 5, 1.0, 60)

    assert demand.describe() == (
        "yahoo: 5 symbols at 1 s need 300 req/min, budget 60: each symbol every 5 s"
    )


def test_a_batching_vendor_counts_requests_not_symbols() -> None:
    demand = budgets.Demand("alpaca", 1000, 1.0, 200)

    assert demand.requests_per_poll == 5
    assert demand.describe() == (
        "alpaca: 1000 symbols at 1 s need 300 req/min (5 requests a poll), budget 200:"
        " each symbol every 1.5 s"
    )
    assert not budgets.Demand("alpaca", 5, 1.0, 200).throttled


def test_a_budget_grants_at_most_its_requests_a_minute(store: RedisStore) -> None:
    budget = RequestBudget(store.client, "yahoo", 60)

    first = budget.take(100)
    second = budget.take(1)

    assert first.granted == 60
    assert second.granted == 0
    assert 55 < second.wait <= 60
    with pytest.raises(BudgetExceededError) as caught:
        budget.acquire(max_wait=0.1)
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 55


def test_history_leaves_the_live_polls_share(store: RedisStore) -> None:
    budget = RequestBudget(store.client, "yahoo", 60)
    budget.record({"live_per_minute": "20"}, skipped=0)

    for _ in range(40):
        budget.acquire(max_wait=0)
    with pytest.raises(BudgetExceededError):
        budget.acquire(max_wait=0)
    assert budget.take(100).granted == 20  # the dispatcher takes without a reserve


def warm_up(
    yahoo: YahooProvider, breaker: pybreaker.CircuitBreaker, store: RedisStore, end: int
) -> list[str]:
    """Fetch an hour of every symbol's 1m, 5m and 1h history until the budget says stop."""
    fetched = []
    try:
        for symbol in SYMBOLS:
            for timeframe in (Timeframe.M1, Timeframe.M5, Timeframe.H1):
                fetch_history(yahoo, breaker, store, [symbol], timeframe, start=end - 3600, end=end)
                fetched.append(symbol)
    except BudgetExceededError:
        return fetched
    raise AssertionError("the budget never ran out")


def test_fifty_symbols_at_one_second_with_a_warm_up_never_exceed_the_budget(
    store: RedisStore, yahoo_settings: Settings, yahoo: YahooProvider, httpserver: HTTPServer
) -> None:
    watchlist.replace_all(store, [(s, "yahoo") for s in SYMBOLS])
    breaker = provider_breaker(redis_lib.Redis.from_url(yahoo_settings.redis_url), "yahoo")
    tick = 1_800_000_000.0
    polled: list[str] = []

    def dispatch(ticks: int) -> None:
        nonlocal tick
        for _ in range(ticks):
            for provider, symbols in watchlist.plan_batches(store, yahoo_settings, tick):
                assert provider == "yahoo"
                fetch(yahoo, breaker, store, symbols, tick)
                polled.extend(symbols)
            tick += 1.0

    dispatch(4)  # the dispatcher announces its share (15 a minute) before history asks
    end = Timeframe.M1.floor(time.time())
    fetched = warm_up(yahoo, breaker, store, end)
    dispatch(56)

    requests = len(httpserver.log)
    assert requests == 30  # the budget, used to the last request
    assert len(fetched) == 13  # 30 - 15 reserved for polling - 2 polled before history
    assert polled == SYMBOLS[: len(polled)]  # round-robin, in order, none twice
    assert len(polled) == requests - len(fetched)
    state = RequestBudget(store.client, "yahoo", 30).state()
    assert int(state["skipped"]) == 60 * 50 - len(polled)
    assert breaker_state(store.client, "yahoo") == "closed"  # our budget is not their failure
    health = budgets.status(store, yahoo_settings, watchlist.entries(store))
    assert health["status"] == "degraded"
    assert health["providers"]["yahoo"]["note"] == (
        "yahoo: 50 symbols at 1 s need 3000 req/min, budget 30: each symbol every 100 s"
    )
    assert health["providers"]["yahoo"]["skipped_polls"] == int(state["skipped"])


def test_a_429_pauses_the_budget_until_retry_after_has_passed(
    store: RedisStore, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_ordered_request("/v8/finance/chart/SPY").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "2"}
    )
    httpserver.expect_ordered_request("/v8/finance/chart/SPY").respond_with_json(CHART)
    yahoo_settings = settings.replace(yahoo_base_url=httpserver.url_for(""))
    watchlist.replace_all(store, [("SPY", "yahoo")])
    budget = budgets.provider_budget(store, yahoo_settings, "yahoo")
    provider = build_provider("yahoo", yahoo_settings, budget)
    breaker = provider_breaker(redis_lib.Redis.from_url(yahoo_settings.redis_url), "yahoo")

    with pytest.raises(RateLimitedError):
        fetch(provider, breaker, store, ["SPY"], time.time())
    paused = watchlist.plan_batches(store, yahoo_settings, time.time())
    note = budgets.status(store, yahoo_settings, watchlist.entries(store))["providers"]["yahoo"]

    assert paused == []
    assert "paused" in note["note"]
    assert note["rate_limited"] == 1
    deadline = time.monotonic() + 30
    plan: list[tuple[str, list[str]]] = []
    while not plan and time.monotonic() < deadline:
        time.sleep(0.2)
        plan = watchlist.plan_batches(store, yahoo_settings, time.time())
    assert plan == [("yahoo", ["SPY"])]
    assert fetch(provider, breaker, store, ["SPY"], time.time()).quotes[0].price == 10.0
    provider.close()


def test_a_batching_vendors_batch_is_one_request_not_split_over_processes(
    store: RedisStore, settings: Settings
) -> None:
    symbols = ["AAPL", "MSFT", "SPY"]
    watchlist.replace_all(
        store, [*((s, "alpaca") for s in symbols), ("IWM", "mock"), ("QQQ", "mock")]
    )

    plan = watchlist.plan_batches(store, settings.replace(calculation_workers=2), 1_800_000_000.0)

    assert sorted(plan) == [("alpaca", symbols), ("mock", ["IWM"]), ("mock", ["QQQ"])]
    assert RequestBudget(store.client, "alpaca", 200).state()["requests"] == "1"
