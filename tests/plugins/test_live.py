"""Plugins on a real worker: good ones signal like a replay, bad ones are disabled with an alert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from cli.main import cli
from tests.factories import START, send_tick, stored_snapshots
from tests.processes import wait_for
from wagehood.engine import replay
from wagehood.service import health_alerts, plugins
from wagehood.service.config import load_config, save_section
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.strategies.registry import DEFAULT_STRATEGY_CONFIG, StrategySet
from wagehood.types import Timeframe

SYMBOLS = ["AAPL", "MSFT"]
BAD = ("raising", "slow", "garbage")
GOOD: dict[str, Any] = {
    **DEFAULT_STRATEGY_CONFIG,
    "donchian_breakout": {"enabled": True, "params": {"period": 10}},
}


def caught_up(store: RedisStore, tick: int) -> bool:
    for symbol in SYMBOLS:
        if float(store.client.hget(keys.live(symbol), "time") or 0) < tick:
            return False
        engine = store.client.hget(keys.engine(symbol, Timeframe.M1), "last_bar_time")
        done = store.client.hget(keys.strategy_state(symbol, Timeframe.M1), "last_eval")
        if engine is None or engine != done:
            return False
    return True


def live_signals(store: RedisStore, symbol: str, tf: Timeframe) -> list[dict[str, Any]]:
    found = [json.loads(f["data"]) for _, f in store.stream_range(keys.symbol_signals(symbol))]
    return [s for s in found if s["timeframe"] == tf.value]


def replayed(store: RedisStore, symbol: str, tf: Timeframe, indicators: dict[str, str]) -> list:
    bars = [s.bar for s in stored_snapshots(store, symbol, tf)]
    rows = replay(bars, indicators, StrategySet(GOOD, 0.3))
    return [signal.to_dict() for row in rows for signal in row.signals]


def write_csv(store: RedisStore, symbol: str, tf: Timeframe, path: Path) -> None:
    lines = ["time,open,high,low,close,volume"]
    for snapshot in stored_snapshots(store, symbol, tf):
        b = snapshot.bar
        lines.append(
            ",".join([str(b.time), *(repr(v) for v in (b.open, b.high, b.low, b.close, b.volume))])
        )
    path.write_text("\n".join(lines) + "\n")


def test_plugins_on_a_worker_isolated_and_equal_to_replay(
    plugin_dir, producer, start_worker, settings: Settings, process_env, tmp_path: Path
) -> None:
    directory = plugin_dir(
        "misbehaving", "broken_import", "donchian_indicator", "donchian_strategy", budget_ms=150
    )
    env = {"PLUGIN_PATHS": str(directory), "PLUGIN_TIME_BUDGET_MS": "150"}
    settings = settings.replace(plugin_paths=(str(directory),), plugin_time_budget_ms=150.0)
    store = RedisStore.from_url(settings.redis_url)
    save_section(store, settings, "strategies", {**GOOD, **{name: {} for name in BAD}})
    start_worker(**env)

    ticks = list(range(START, START + 3 * 3600, 20))
    for tick in ticks:
        send_tick(producer, SYMBOLS, float(tick))
    wait_for(lambda: caught_up(store, ticks[-1]), 180, "the last tick's strategies")

    config = load_config(store, settings)
    for symbol in SYMBOLS:
        for tf in config.timeframes:
            assert live_signals(store, symbol, tf) == replayed(store, symbol, tf, config.indicators)
    strategies = {s["strategy"] for s in live_signals(store, "AAPL", Timeframe.M1)}
    assert "donchian_breakout" in strategies
    assert not strategies & set(BAD)
    assert {name for name in BAD if config.strategies[name]["enabled"]} == set()
    assert set(plugins.disabled(store)) == {f"strategy:{name}" for name in BAD}
    failures = store.client.hgetall(keys.PLUGIN_FAILURES)
    assert all(int(failures[f"strategy:{name}"]) >= 5 for name in BAD)
    raised = {a["id"] for a in health_alerts.evaluate(store, settings)}
    assert raised >= {f"plugin:strategy:{name}" for name in BAD}
    report = {row["name"]: row for row in plugins.report(store)}
    assert report["broken_import.py"]["status"] == "failed"
    assert report["raising"]["status"] == "disabled"

    csv = tmp_path / "AAPL.csv"
    write_csv(store, "AAPL", Timeframe.M1, csv)
    result = CliRunner().invoke(
        cli,
        [
            "replay",
            str(csv),
            "--timeframe",
            "1m",
            "--strategy",
            "donchian_breakout:period=10",
            "--format",
            "json",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    offline = [
        (row["time"], row["signal_type"], row["confidence"]) for row in json.loads(result.output)
    ]
    live = [
        (s["timestamp"], s["signal_type"], s["confidence"])
        for s in live_signals(store, "AAPL", Timeframe.M1)
        if s["strategy"] == "donchian_breakout"
    ]
    assert live
    assert offline == live

    save_section(store, settings, "strategies", {**config.strategies, "raising": {"enabled": True}})
    assert "strategy:raising" not in plugins.disabled(store)
