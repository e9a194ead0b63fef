"""Load: the Procfile's web, worker and beat under 100 symbols, 50 WebSocket clients and REST.

``make test`` runs 60 s; WAGEHOOD_LONG=1 runs 5 minutes. On a 2-core machine the same cores
run Redis, gunicorn, two worker processes, beat and, in this test process, 50 WebSocket
reader threads and the REST load.
Every symbol must stay fresh, every client must see every update of its symbols (compared
with the updates stream: no gap, no duplicate), no request may fail with a 5xx, RSS must stay
flat, and /stats, /metrics and the worker logs must agree.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import websocket

from tests.ops.conftest import PROVIDER_SECRET, SYMBOLS
from tests.ops.system import System, rss_kib
from tests.processes import wait_for
from wagehood.service import auth
from wagehood.storage import keys

LONG = bool(os.environ.get("WAGEHOOD_LONG"))
DURATION = 300.0 if LONG else 60.0
CLIENTS = 50
FULL_CLIENTS = 2  # subscribed to all 100 symbols; the others to 2 symbols each
REST_THREADS = 3
CONTROL = {"subscribed", "unsubscribed", "pong", "error"}
pytestmark = pytest.mark.alone  # its freshness and memory figures need the machine to itself


@dataclass
class WsClient:
    """A WebSocket client that records every update frame it gets."""

    name: str
    symbols: list[str]
    timeout: float = 5.0  # seconds without a frame that end the client with an error
    seqs: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run(self, system: System, key: str, stop: threading.Event) -> None:
        url = f"ws://127.0.0.1:{system.port}/api/v1/realtime/ws/{self.name}"
        headers = [f"Authorization: Bearer {key}"]
        ws = websocket.create_connection(url, header=headers, timeout=self.timeout)
        ws.send(json.dumps({"action": "subscribe", "symbols": self.symbols}))
        try:
            while not stop.is_set():
                frame = json.loads(ws.recv())
                if frame["type"] not in CONTROL:
                    self.seqs.append(frame["seq"])
        except (websocket.WebSocketException, OSError) as error:
            self.errors.append(repr(error))
        finally:
            ws.close()


def _rest_load(system: System, key: str, stop: threading.Event, statuses: Counter[int]) -> None:
    paths = ["/realtime/monitor/stats", "/realtime/config/watchlist"]
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=f"{system.url}/api/v1", headers=headers, timeout=10) as client:
        index = 0
        while not stop.is_set():
            symbol = SYMBOLS[index % len(SYMBOLS)]
            for path in (f"/realtime/data/latest/{symbol}", f"/realtime/indicators/{symbol}"):
                statuses[client.get(path).status_code] += 1
            statuses[client.get(paths[index % 2]).status_code] += 1
            statuses[httpx.get(f"{system.url}/metrics", timeout=10).status_code] += 1
            index += 1


def _expected(system: System, client: WsClient) -> list[int]:
    first, last = client.seqs[0], client.seqs[-1]
    entries = system.store.stream_range(keys.UPDATES, keys.seq_id(first), keys.seq_id(last))
    wanted = set(client.symbols)
    return [int(i.split("-")[0]) for i, f in entries if f.get("symbol") in wanted]


def _sample(system: System, ages: list[float], memory: list[dict[str, int]]) -> None:
    now = time.time()
    times = system.store.pipeline_reads([("hget", (keys.live(s), "time")) for s in SYMBOLS])
    ages.append(max(now - float(t) for t in times))
    memory.append({name: rss_kib(proc.pid) for name, proc in system.procs.items()})


@pytest.mark.timeout(DURATION + 240)  # the 5-minute long mode outlasts the default 300 s
def test_load_keeps_every_symbol_fresh_and_loses_no_update(system: System) -> None:
    key = auth.create_key(system.store, "load", "read", rate_limit="1000000/minute").key
    clients = [
        WsClient(f"load{i}", SYMBOLS if i < FULL_CLIENTS else SYMBOLS[2 * i % 100 :][:2])
        for i in range(CLIENTS)
    ]
    stop, statuses = threading.Event(), Counter[int]()
    threads = [threading.Thread(target=c.run, args=(system, key, stop)) for c in clients]
    threads += [
        threading.Thread(target=_rest_load, args=(system, key, stop, statuses))
        for _ in range(REST_THREADS)
    ]
    for thread in threads:
        thread.start()
    ages: list[float] = []
    memory: list[dict[str, int]] = []
    deadline = time.monotonic() + DURATION
    while time.monotonic() < deadline:
        _sample(system, ages, memory)
        time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    report = _report(clients, statuses, ages, memory)
    print(json.dumps(report))  # the figures docs/operations.md records
    assert all(not c.errors for c in clients), [c.errors for c in clients if c.errors]
    assert max(ages) <= system.settings.data_update_interval * 3 + 2, ages
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) == {200}, statuses
    for client in clients:
        assert client.seqs == _expected(system, client), f"{client.name} missed an update"
    assert sum(len(c.seqs) for c in clients) > 100 * DURATION
    _assert_memory_flat(memory)
    assert system.health()["status"] == "ok"


def _report(
    clients: list[WsClient], statuses: Counter[int], ages: list[float], memory: list[dict[str, int]]
) -> dict[str, Any]:
    return {
        "duration_s": DURATION,
        "ws_clients": len(clients),
        "ws_frames": sum(len(c.seqs) for c in clients),
        "rest_requests": sum(statuses.values()),
        "statuses": dict(statuses),
        "max_symbol_age_s": round(max(ages), 2),
        "rss_kib_first": memory[0],
        "rss_kib_last": memory[-1],
    }


def _assert_memory_flat(memory: list[dict[str, int]]) -> None:
    warm = memory[len(memory) // 3]
    for name, last in memory[-1].items():
        growth = last - warm[name]
        assert growth < max(30_000, warm[name] * 0.15), (name, warm[name], last)


def test_stats_metrics_and_worker_logs_agree_over_worker_processes(system: System) -> None:
    system.procs["beat"].stop()
    wait_for(lambda: _drained(system), 30, "the queues to drain")
    time.sleep(1.5)
    try:
        stats = system.get("/realtime/monitor/stats").json()
        text = httpx.get(f"{system.url}/metrics", timeout=10).text
        assert _metric(text, "wagehood_quotes_total") == stats["counters"]["quotes"]
        finished = sum(t["count"] for t in stats["tasks"].values())
        assert _metric_sum(text, "wagehood_task_duration_seconds_count") == finished
        assert _metric(text, "wagehood_updates_total") == stats["updates_seq"]
        # A request is counted once answered: the one above shows in a later scrape.
        counted = 'wagehood_http_requests_total{method="GET",route="/metrics",status="200"}'
        wait_for(
            lambda: counted in httpx.get(f"{system.url}/metrics", timeout=10).text,
            10,
            "the /metrics request counted",
        )
    finally:
        system.start_process("beat")


def _drained(system: System) -> bool:
    client = system.store.client
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, name
    return float(match.group(1))


def _metric_sum(text: str, name: str) -> float:
    return sum(float(v) for v in re.findall(rf"^{name}{{[^}}]*}} (\S+)$", text, re.MULTILINE))


def test_no_secret_in_any_log_after_a_full_request_and_task_cycle(system: System) -> None:
    token = httpx.post(
        f"{system.url}/api/v1/auth/token",
        headers={"Authorization": f"Bearer {system.read_key}"},
        timeout=10,
    ).json()["access_token"]
    assert system.get("/realtime/config/watchlist", key=token).status_code == 200
    assert system.get("/realtime/config/watchlist", key=system.key + "x").status_code == 401
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{system.port}/api/v1/realtime/ws/t?token={token}", timeout=5
    )
    ws.send(json.dumps({"action": "subscribe", "symbols": ["S001"]}))
    ws.recv()
    ws.close()
    time.sleep(1)
    text = system.logs()
    assert "gunicorn.access" in text
    assert system.json_lines("worker"), "the worker's log is among those checked"
    for secret in (system.key, system.read_key, token, PROVIDER_SECRET):
        assert secret not in text
    assert not re.search(r"wh_[0-9a-f]{16}_", text)
