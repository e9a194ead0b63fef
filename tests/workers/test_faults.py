"""Poison messages, failing providers, graceful shutdown and backfill through the CLI."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from celery import chain
from pytest_httpserver import HTTPServer

from tests.factories import START, context, mock_quotes, offline, send_tick, stored_snapshots
from tests.processes import ROOT, env_for, wait_for
from wagehood.bars import BarAggregator
from wagehood.service import deadletters
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.breaker import breaker_state
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Timeframe

DATA = Path(__file__).resolve().parent.parent / "data"


def test_poison_message_ends_in_dead_letters_not_retries(
    producer, start_worker, settings: Settings
) -> None:
    start_worker()
    store = RedisStore.from_url(settings.redis_url)
    producer.send_task(
        "wagehood.compute_indicators", args=[{"quotes": [["AAPL", "soon", 1, 2]], "tick": 0}]
    )
    wait_for(lambda: deadletters.total(store) == 1, 20, "the dead letter")
    entry = deadletters.recent(store)[0]
    assert entry["task"] == "wagehood.compute_indicators"
    assert "ValueError" in entry["error"]


def test_failing_provider_opens_the_shared_circuit_and_spares_other_symbols(
    producer, start_worker, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v2/stocks/trades/latest").respond_with_data("down", status=503)
    start_worker(
        ALPACA_API_KEY="id",
        ALPACA_API_SECRET="secret",
        ALPACA_DATA_URL=httpserver.url_for("/"),
        PROVIDER_TIMEOUT="1",
    )
    store = RedisStore.from_url(settings.redis_url)
    for tick in range(6):
        producer.send_task("wagehood.fetch_quotes", args=["alpaca", ["AAPL"], float(START + tick)])
    chain(
        producer.signature("wagehood.fetch_quotes", args=("mock", ["SPY"], float(START))),
        producer.signature("wagehood.compute_indicators"),
    ).apply_async()
    wait_for(
        lambda: breaker_state(store.client, "alpaca") == "open", 60, "the alpaca circuit to open"
    )
    wait_for(lambda: store.client.exists(keys.live("SPY")) == 1, 20, "the mock symbol to go on")


def test_graceful_shutdown_mid_run_loses_no_tick(
    producer, start_worker, settings: Settings
) -> None:
    store = RedisStore.from_url(settings.redis_url)
    first = start_worker()
    ticks = list(range(START, START + 3600, 5))
    for tick in ticks:
        send_tick(producer, ["AAPL"], float(tick))
    wait_for(lambda: store.client.hget(keys.live("AAPL"), "time") is not None, 20, "work to start")
    first.stop()  # SIGTERM: warm shutdown, unfinished messages go back to the queue
    start_worker()
    wait_for(
        lambda: float(store.client.hget(keys.live("AAPL"), "time") or 0) >= ticks[-1],
        60,
        "the last tick",
    )
    aggregator = BarAggregator("AAPL", Timeframe.M1)
    quotes = [q for batch in mock_quotes(["AAPL"], START, 3600, step=5) for q in batch]
    expected = [b for q in quotes if (b := aggregator.on_quote(q))]
    assert [s.bar for s in stored_snapshots(store, "AAPL", Timeframe.M1)] == expected


def test_cli_backfill_waits_and_equals_replay_value_for_value(
    start_worker, process_env, settings: Settings
) -> None:
    start_worker()
    env = env_for(process_env)
    wagehood = [sys.executable, "-m", "cli", "--debug"]
    done = subprocess.run(
        [
            *wagehood,
            "admin",
            "backfill",
            "GOOG",
            "--file",
            str(DATA / "GOOG.csv"),
            "--wait",
            "--format",
            "json",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert '"done": true' in done.stdout
    replayed = subprocess.run(
        [*wagehood, "replay", str(DATA / "GOOG.csv")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = list(csv.DictReader(io.StringIO(replayed.stdout)))
    store = RedisStore.from_url(settings.redis_url)
    live = stored_snapshots(store, "GOOG", Timeframe.D1)
    assert len(live) == len(rows) == 2148
    assert int(store.client.hget(keys.engine("GOOG", Timeframe.D1), "bars_processed")) == 2148
    for snapshot, row in zip(live, rows, strict=True):
        for name, value in snapshot.values.items():
            if name in row:
                assert (repr(value) if value is not None else "") == row[name], (
                    snapshot.bar.time,
                    name,
                )
    assert [s.values for s in live] == [s.values for s in offline(context(store, settings), live)]
