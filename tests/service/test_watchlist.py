"""How the watchlist is cut into fetch batches each tick."""

from __future__ import annotations

import pytest

from wagehood.service.watchlist import WatchEntry, batches


def watch(n: int, provider: str = "mock") -> list[WatchEntry]:
    return [WatchEntry(f"S{i:04d}", provider, 0.0) for i in range(n)]


@pytest.mark.parametrize(
    ("n", "size", "spread", "sizes"),
    [
        (1000, 250, 2, [250, 250, 250, 250]),
        (100, 250, 2, [50, 50]),  # small lists still keep both processes busy
        (260, 250, 2, [130, 130]),  # even, not 250 + 10
        (1001, 250, 2, [201, 200, 200, 200, 200]),
        (3, 250, 4, [1, 1, 1]),
        (7, 250, 1, [7]),
    ],
)
def test_batches_are_even_and_spread_over_processes(
    n: int, size: int, spread: int, sizes: list[int]
) -> None:
    plan = batches(watch(n), size, {}, spread=spread)

    assert [len(symbols) for _, symbols in plan] == sizes
    assert [s for _, symbols in plan for s in symbols] == [f"S{i:04d}" for i in range(n)]


def test_provider_request_size_caps_its_batches() -> None:
    plan = batches(watch(450, "alpaca") + watch(30, "mock"), 250, {"alpaca": 200}, spread=2)

    assert [(provider, len(symbols)) for provider, symbols in plan] == [
        ("alpaca", 150),
        ("alpaca", 150),
        ("alpaca", 150),
        ("mock", 15),
        ("mock", 15),
    ]


def test_a_symbol_keeps_its_batch_while_the_watchlist_is_unchanged() -> None:
    entries = watch(500)

    assert batches(entries, 250, {}, spread=2) == batches(entries[::-1], 250, {}, spread=2)
