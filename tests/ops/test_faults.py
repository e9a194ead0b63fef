"""Faults on the real processes: the system degrades, alerts fire, and it recovers by itself.

One run injects, in turn: an Alpaca provider (a local HTTP server) answering garbage, then
timing out, then failing with 503 until its circuit opens; beat stopped and restarted; the
worker SIGKILLed and a new one started; Redis stopped and restarted. Each time health says
so and an alert is raised; afterwards every alert clears without manual action and the state
of the mock symbols equals an offline replay of their bars.

Known limit: a worker that holds unacknowledged messages when Redis goes away can exit with
kombu's "Unrecoverable error: 'NoneType' object has no attribute 'hostname'" (a kombu bug in
restoring unacked messages on a lost connection). Production runs workers under a supervisor
that restarts them (docs/operations.md); ``System.supervise`` plays that part here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.factories import context
from tests.ops.system import System
from tests.processes import wait_for
from tests.workers.test_chaos import assert_state_equals_replay, stored_snapshots
from wagehood.types import SYMBOL_PATTERN, Timeframe

MOCK = ["F001", "F002", "F003"]
ALPACA = ["AAPL", "MSFT"]
WAGEHOOD = str(Path(sys.executable).parent / "wagehood")


class FakeAlpaca:
    """Latest trades for the asked symbols, or garbage, timeouts, errors or hostile symbols.

    History (``/v2/stocks/bars``, asked by warm-ups and gap fills) answers in the same mode,
    with no bars when all is well, unless ``history_down`` makes it fail with 503 alone.
    """

    def __init__(self) -> None:
        self.mode = "ok"
        self.history_down = False
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        history = request.path.endswith("/bars")
        mode = "history_down" if history and self.history_down else self.mode
        with self.lock:
            self.seen[mode] = self.seen.get(mode, 0) + 1
        if mode in ("error", "history_down"):
            return Response("upstream down", status=503)
        if self.mode == "garbage":
            return Response("{not json", status=200, content_type="application/json")
        if self.mode == "timeout":
            time.sleep(1.5)
        if history:
            body = {"bars": {}, "next_page_token": None}
            return Response(json.dumps(body), content_type="application/json")
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        symbols = request.args.get("symbols", "").split(",")
        trades = {s: {"t": stamp, "p": 100.0, "s": 10} for s in symbols}
        if self.mode == "hostile":
            trades |= {"../../ETC": trades[symbols[0]], "<script>": trades[symbols[0]]}
        return Response(json.dumps({"trades": trades}), content_type="application/json")


@pytest.fixture
def alpaca() -> Iterator[tuple[HTTPServer, FakeAlpaca]]:
    server = HTTPServer(threaded=True)
    fake = FakeAlpaca()
    server.expect_request("/v2/stocks/trades/latest").respond_with_handler(fake)
    server.expect_request("/v2/stocks/bars").respond_with_handler(fake)
    server.start()
    yield server, fake
    server.clear()
    server.stop()


def _cli_health(system: System) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **system.env, "WAGEHOOD_API_URL": system.url, "WAGEHOOD_RETRIES": "0"}
    return subprocess.run(  # noqa: PLW1510 - the exit code is what is checked
        [WAGEHOOD, "monitor", "health", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _wait_alert(system: System, alert_id: str, timeout: float = 40) -> None:
    wait_for(lambda: alert_id in system.alert_ids(), timeout, f"alert {alert_id}", interval=1)


def _provider_faults(system: System, fake: FakeAlpaca) -> None:
    for mode in ("hostile", "garbage", "timeout"):
        fake.mode = mode
        wait_for(lambda m=mode: fake.seen.get(m, 0) >= 1, 30, f"provider {mode} calls")
    fake.mode = "error"  # with the garbage and timeouts, enough failures to open the circuit
    _wait_alert(system, "breaker:alpaca")
    health = system.health()
    assert health["status"] == "degraded"
    assert health["components"]["breakers"]["providers"]["alpaca"] != "closed"
    fake.mode = "ok"  # the circuit half-opens after 30 s and closes on the trial call


def _beat_restart(system: System) -> None:
    system.procs["beat"].stop()
    _wait_alert(system, "beat")
    assert system.health()["components"]["beat"]["status"] == "degraded"
    system.start_process("beat")
    wait_for(lambda: "beat" not in system.alert_ids(), 30, "the beat alert to clear", 1)


def _worker_kill(system: System) -> None:
    system.procs["worker"].kill()
    _wait_alert(system, "workers", 40)  # heartbeats go stale after 15 s
    assert system.health()["components"]["workers"]["status"] == "degraded"
    system.start_process("worker")
    wait_for(lambda: "workers" not in system.alert_ids(), 40, "the workers alert to clear", 1)


def _redis_restart(system: System) -> None:
    system.redis.stop()
    response = system.health()
    assert response["status"] == "down"
    assert _cli_health(system).returncode == 3
    time.sleep(3)
    system.redis.start(appendonly=True)
    wait_for(lambda: system.health()["status"] != "down", 30, "redis to be back", 1)
    time.sleep(2)
    restarted = system.supervise()
    print(f"supervisor restarted after the Redis restart: {restarted or 'nothing'}")


def test_faults_degrade_alert_and_recover_to_the_replayed_state(
    tmp_path: Path, alpaca: tuple[HTTPServer, FakeAlpaca]
) -> None:
    server, fake = alpaca
    system = System(
        tmp_path, MOCK + ALPACA, ALPACA_API_KEY="id", ALPACA_API_SECRET="secret",
        ALPACA_DATA_URL=server.url_for("/"), PROVIDER_TIMEOUT="1",
    )  # fmt: skip
    try:
        system.start(dict.fromkeys(ALPACA, "alpaca"))
        system.wait_fresh(60)
        wait_for(lambda: system.health()["status"] == "ok", 30, "health ok", 1)
        assert _cli_health(system).returncode == 0
        _provider_faults(system, fake)
        _beat_restart(system)
        _worker_kill(system)
        _redis_restart(system)
        system.wait_fresh(90)
        wait_for(lambda: not system.alert_ids(), 120, "every alert to clear", interval=2)
        wait_for(lambda: system.health()["status"] == "ok", 30, "health ok again", 1)
        _assert_history_shows_raise_and_clear(system)
        _assert_only_watched_symbols_stored(system)
        system.procs["beat"].stop()
        wait_for(lambda: _drained(system), 60, "the queues to drain")
        for symbol in MOCK:
            assert_state_equals_replay(system.store, system.settings, symbol, Timeframe.M1)
            assert stored_snapshots(system.store, symbol, Timeframe.M1), symbol
        assert context(system.store, system.settings).config.timeframes
    finally:
        system.stop()


def test_a_failing_history_endpoint_opens_its_own_circuit_and_live_quotes_flow(
    tmp_path: Path, alpaca: tuple[HTTPServer, FakeAlpaca]
) -> None:
    # Found by the fault test under load: with one circuit per provider, a gap fill retrying a
    # broken history endpoint every 30 s (the breaker's reset time) took every half-open trial
    # call, and the healthy quotes endpoint behind the same circuit stayed cut off for good.
    server, fake = alpaca
    fake.history_down = True
    system = System(
        tmp_path, ALPACA, ALPACA_API_KEY="id", ALPACA_API_SECRET="secret",
        ALPACA_DATA_URL=server.url_for("/"), PROVIDER_TIMEOUT="1",
    )  # fmt: skip
    try:
        system.start(dict.fromkeys(ALPACA, "alpaca"))
        circuits = lambda: system.health()["components"]["breakers"]["providers"]  # noqa: E731
        wait_for(lambda: circuits()["alpaca:history"] != "closed", 120, "the history circuit")
        seen = fake.seen.get("ok", 0)
        wait_for(lambda: fake.seen.get("ok", 0) >= seen + 10, 60, "live quotes after it opened")
        system.wait_fresh(60)
        assert circuits()["alpaca"] == "closed"
        _wait_alert(system, "breaker:alpaca:history")
        assert "breaker:alpaca" not in system.alert_ids()
    finally:
        system.stop()


def _assert_history_shows_raise_and_clear(system: System) -> None:
    recent = system.get("/realtime/monitor/alerts").json()["recent"]
    events = {(e["id"], e["event"]) for e in recent}
    for alert_id in ("breaker:alpaca", "beat", "workers"):
        assert (alert_id, "raised") in events
        assert (alert_id, "cleared") in events


def _assert_only_watched_symbols_stored(system: System) -> None:
    tags = {k.split("{")[1].split("}")[0] for k in system.store.client.scan_iter("wh:{*")}
    assert tags <= set(MOCK + ALPACA), tags
    assert all(SYMBOL_PATTERN.match(t) for t in tags)


def _drained(system: System) -> bool:
    client = system.store.client
    return client.llen("celery") == 0 and client.hlen("unacked") == 0
