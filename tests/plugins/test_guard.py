"""Isolation: plugins that raise, are slow or return garbage never disturb the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wagehood import csvio
from wagehood.engine import replay
from wagehood.indicators.registry import DEFAULT_INDICATORS
from wagehood.plugins import guard
from wagehood.strategies.registry import DEFAULT_STRATEGY_CONFIG, StrategySet
from wagehood.types import Signal, Timeframe

GOOG = Path(__file__).parents[1] / "data" / "GOOG.csv"
BAD = ("raising", "slow", "garbage")


def signals(config: dict[str, Any]) -> list[Signal]:
    bars = csvio.read_bars(GOOG, "GOOG", Timeframe.D1)
    rows = replay(bars, DEFAULT_INDICATORS, StrategySet(config, 0.3))
    return [signal for row in rows for signal in row.signals]


def test_misbehaving_strategies_are_disabled_and_others_unchanged(plugin_dir) -> None:
    plugin_dir("misbehaving", "donchian_indicator", "donchian_strategy", budget_ms=150)
    good = {**DEFAULT_STRATEGY_CONFIG, "donchian_breakout": {"params": {"period": 10}}}
    expected = signals(good)
    guard.drain()

    found = signals({**good, **{name: {} for name in BAD}})

    assert found == expected
    assert {s.strategy for s in expected} >= {"donchian_breakout", "macd_rsi"}
    counts, trips = guard.drain()
    assert counts == {("strategy", name): 5 for name in BAD}
    assert sorted(name for _, name, _ in trips) == sorted(BAD)
    reasons = {name: reason for _, name, reason in trips}
    assert reasons["raising"].endswith("raised RuntimeError: boom at 1093392000")
    assert reasons["garbage"].endswith("returned a str, not a Signal or None")
    assert "(budget 150 ms)" in reasons["slow"]


def test_a_raising_indicator_gives_none_and_leaves_the_others(plugin_dir) -> None:
    plugin_dir("misbehaving")
    specs = {"sma_5": "sma(5)", "boom": "boom(3)"}
    bars = list(csvio.read_bars(GOOG, "GOOG", Timeframe.D1))[:50]
    alone = [
        row.snapshot.values["sma_5"] for row in replay(bars, {"sma_5": "sma(5)"}, StrategySet({}))
    ]

    rows = [row.snapshot.values for row in replay(bars, specs, StrategySet({}))]

    assert [values["sma_5"] for values in rows] == alone
    assert rows[0]["boom"] == bars[0].close
    assert all(values["boom"] is None for values in rows[1:])
    counts, trips = guard.drain()
    assert counts == {("indicator", "boom"): 5}
    assert trips == [
        ("indicator", "boom", "disabled after 5 failures; last: raised ZeroDivisionError: boom")
    ]


def test_only_failures_in_a_row_disable_a_plugin(plugin_dir) -> None:
    plugin_dir("misbehaving")
    guard.drain()

    assert signals({"flaky": {}}) == []

    counts, trips = guard.drain()
    assert counts[("strategy", "flaky")] > 500
    assert trips == []
