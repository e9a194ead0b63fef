"""The mock provider: deterministic, realistic, cheap, statistically a GBM."""

from __future__ import annotations

import itertools
import math
import random
import statistics
import time

import pytest

from wagehood.providers.base import QuoteSource
from wagehood.providers.mock import (
    BLOCK_SECONDS,
    HORIZON,
    REFERENCE_TIME,
    MockProvider,
    brownian,
    brownian_at,
    symbol_model,
)
from wagehood.types import Quote

NOW = REFERENCE_TIME + 200 * 86400 + 14 * 3600 + 0.75  # mid-July 2024, a fraction past
SYMBOLS = ["SPY", "QQQ", "IWM", "AAPL", "TSLA", "BRK.B", "EURUSD=X"]


def test_mock_satisfies_the_port() -> None:
    assert isinstance(MockProvider(1), QuoteSource)
    assert MockProvider.max_batch >= 1000


def test_two_instances_agree() -> None:
    first, second = MockProvider(seed=7), MockProvider(seed=7)

    assert first.get_quotes(SYMBOLS, NOW) == second.get_quotes(SYMBOLS, NOW)


def test_same_symbol_and_time_give_same_quote_whatever_was_asked_before() -> None:
    fresh, used = MockProvider(7), MockProvider(7)
    for t in range(0, 5000, 97):
        used.quote_at("AAPL", NOW - t)

    assert fresh.quote_at("AAPL", NOW) == used.quote_at("AAPL", NOW)


def test_pinned_value_for_replays() -> None:
    # Pinned from this implementation: a change here breaks every recorded replay.
    quote = MockProvider(42).quote_at("AAPL", REFERENCE_TIME + 86400)

    assert quote == Quote("AAPL", REFERENCE_TIME + 86400.0, 299.6553, 37.0)


def test_different_seeds_differ() -> None:
    assert (
        MockProvider(1).quote_at("AAPL", NOW).price != MockProvider(2).quote_at("AAPL", NOW).price
    )


def test_quote_time_is_now_floored_to_seconds_and_symbol_canonical() -> None:
    quote = MockProvider(1).quote_at("brk.b", NOW)

    assert quote.time == math.floor(NOW)
    assert quote.symbol == "BRK.B"


def test_price_at_reference_time_is_the_start_price() -> None:
    model = symbol_model(3, "SPY")

    assert MockProvider(3).quote_at("SPY", REFERENCE_TIME).price == round(model.start_price, 4)


def test_invalid_symbol_is_reported_failed_others_served() -> None:
    result = MockProvider(1).get_quotes(["AAPL", "not a symbol"], NOW)

    assert [q.symbol for q in result.quotes] == ["AAPL"]
    assert "not a symbol" in result.failed


def test_per_symbol_parameters_are_realistic() -> None:
    models = [symbol_model(42, f"SYM{i}") for i in range(500)]

    assert all(10 <= m.start_price <= 800 for m in models)
    assert all(0.15 <= m.volatility <= 0.60 for m in models)
    assert len({round(m.start_price, 2) for m in models}) > 450


def test_prices_over_a_simulated_day_stay_in_plausible_bands() -> None:
    mock = MockProvider(42)
    for symbol in SYMBOLS:
        model = symbol_model(42, symbol)
        day = [mock.quote_at(symbol, NOW + s) for s in range(0, 86400, 60)]
        low, high = min(q.price for q in day), max(q.price for q in day)
        assert low > 0
        assert high / low < 1 + 8 * model.volatility / math.sqrt(365)  # 8 daily sigmas
        assert all(q.volume >= 0 for q in day)


def test_prices_within_two_years_stay_near_start_price() -> None:
    mock = MockProvider(42)
    for i in range(200):
        symbol = f"SYM{i}"
        price = mock.quote_at(symbol, REFERENCE_TIME + 2 * 365 * 86400).price
        ratio = price / symbol_model(42, symbol).start_price
        assert 0.05 < ratio < 20


def test_per_second_moves_are_small() -> None:
    mock = MockProvider(42)
    prices = [mock.quote_at("TSLA", NOW + s).price for s in range(3600)]

    assert max(abs(b / a - 1) for a, b in itertools.pairwise(prices)) < 0.002


@pytest.mark.parametrize("symbol", ["AAPL", "IWM", "EURUSD=X"])
def test_log_returns_have_zero_mean_and_the_symbols_volatility(symbol: str) -> None:
    mock, model = MockProvider(42), symbol_model(42, symbol)
    seconds = 20_000
    prices = [mock.quote_at(symbol, NOW + s).price for s in range(seconds)]
    returns = [math.log(b / a) for a, b in itertools.pairwise(prices)]
    per_second = model.volatility / math.sqrt(365.25 * 86400)

    assert abs(statistics.fmean(returns)) < 5 * per_second / math.sqrt(seconds)
    assert statistics.stdev(returns) == pytest.approx(per_second, rel=0.05)


def test_daily_log_returns_match_volatility_over_years() -> None:
    mock, model = MockProvider(9), symbol_model(9, "QQQ")
    prices = [
        mock.quote_at("QQQ", REFERENCE_TIME - 1000 * 86400 + d * 86400).price for d in range(2000)
    ]
    returns = [math.log(b / a) for a, b in itertools.pairwise(prices)]

    assert statistics.stdev(returns) * math.sqrt(365.25) == pytest.approx(model.volatility, rel=0.1)


def test_volume_mean_matches_symbol_scale() -> None:
    mock, model = MockProvider(42), symbol_model(42, "AAPL")
    volumes = [mock.quote_at("AAPL", NOW + s).volume for s in range(5000)]

    assert statistics.fmean(volumes) == pytest.approx(model.volume_scale, rel=0.1)


def test_time_outside_the_simulated_span_is_rejected() -> None:
    result = MockProvider(1).get_quotes(["AAPL"], REFERENCE_TIME + 2**33)

    assert result.quotes == []
    assert "outside" in result.failed["AAPL"]


def test_cost_per_quote_is_measured() -> None:
    mock = MockProvider(42)
    symbols = [f"S{i}" for i in range(1000)]
    mock.get_quotes(symbols, NOW)  # warm the per-symbol constants
    start = time.perf_counter()
    result = mock.get_quotes(symbols, NOW + 1)
    elapsed = time.perf_counter() - start

    micros = elapsed / len(symbols) * 1e6
    print(f"\nmock: {micros:.1f} us per symbol-quote ({len(symbols)} symbols)")
    assert len(result.quotes) == len(symbols)
    assert micros < 1000  # generous: shared CI machines; the aim is < 50 us


def test_any_integer_seed_is_accepted() -> None:
    assert MockProvider(-(10**30)).quote_at("AAPL", NOW).price > 0


def test_the_shared_walk_of_a_block_gives_the_full_walks_numbers() -> None:
    model = symbol_model(42, "AAPL")
    edge = 37 * BLOCK_SECONDS
    offsets = [1, -1, HORIZON, -HORIZON, HORIZON - 1, 1 - HORIZON, BLOCK_SECONDS * 3]
    offsets += list(range(edge - 300, edge + 300)) + [-o for o in range(edge - 300, edge + 300)]
    offsets += random.Random(5).sample(range(-HORIZON, HORIZON), 500)

    assert [brownian_at(model, 42, o) for o in offsets] == [
        brownian(model.hasher, o) for o in offsets
    ]
