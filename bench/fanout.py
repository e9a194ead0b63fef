"""WebSocket fan-out: N subscribed clients on one web process, delivery latency and drops.

A publisher in the bench process appends one ``bar`` update per symbol per second to the
updates stream (as the workers' commit script does: consecutive ``<seq>-1`` ids) with a
``sent`` stamp; the Procfile's ``web`` process relays them. Clients (``bench.wsclients``,
separate processes, 500 threads each) each subscribe to one of 100 symbols, so every client
should get one frame a second. Baseline in the same run: a raw ``XREAD BLOCK`` reader of the
same stream in Python (the floor for any relay of it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

from bench.cluster import ROOT, Cluster, cpu_seconds, rss_bytes
from bench.pipeline import _quantiles, _wait_http, symbols
from wagehood.service import auth
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore

PER_PROCESS = 500
SYMBOLS = symbols(100)


def _publish(c: Cluster, start: float, stop: float) -> int:
    sent = 0
    next_at = start
    while next_at < stop:
        time.sleep(max(0.0, next_at - time.time()))
        last = int(c.client.incrby(keys.UPDATES_SEQ, len(SYMBOLS)))
        pipe = c.client.pipeline(transaction=False)
        for i, name in enumerate(SYMBOLS):
            data = {"symbol": name, "price": 100.0, "time": int(next_at), "sent": time.time()}
            fields = {"type": "bar", "symbol": name, "data": json.dumps(data)}
            pipe.xadd(keys.UPDATES, fields, id=keys.seq_id(last - len(SYMBOLS) + 1 + i))
        pipe.execute()
        sent += 1
        next_at += 1.0
    return sent


def _raw_reader(c: Cluster, start: float, stop: float, out: list[float]) -> None:
    client = type(c.client).from_url(c.url, decode_responses=True)
    last = "$"
    while time.time() < stop + 2:
        reply = client.xread({keys.UPDATES: last}, block=500, count=1000)
        now = time.time()
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                sent = json.loads(fields["data"])["sent"]
                if start <= sent < stop:
                    out.append((now - sent) * 1000)
    client.close()


def measure(clients: int, seconds: float, threads: int, workers: int = 1) -> dict[str, Any]:
    """Run ``clients`` clients against ``workers`` web processes of ``threads`` threads."""
    with Cluster() as c:
        store = RedisStore.from_url(c.url)
        key = auth.create_key(store, "bench", "read", "100000000/minute").key
        web = c.start(
            "web",
            WEB_THREADS=str(threads),
            WEB_CONCURRENCY=str(workers),
            WS_MAX_PER_KEY=str(clients),  # one key and one address open every socket
            WS_MAX_PER_ADDRESS=str(clients),
        )
        _wait_http(c.api_port)
        c.client.xadd(keys.UPDATES, {"type": "init", "symbol": "", "data": "null"}, id="1-1")
        c.client.set(keys.UPDATES_SEQ, 1)
        start_at = time.time() + 5.0 + clients / 100.0
        procs = []
        for first in range(0, clients, PER_PROCESS):
            spec = {
                "url": f"ws://127.0.0.1:{c.api_port}/api/v1/realtime/ws",
                "token": key,
                "clients": min(PER_PROCESS, clients - first),
                "first": first,
                "symbols": SYMBOLS,
                "seconds": seconds,
                "start_at": start_at,
            }
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bench.wsclients", json.dumps(spec)],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        raw: list[float] = []
        reader = threading.Thread(
            target=_raw_reader, args=(c, start_at, start_at + seconds, raw), daemon=True
        )
        reader.start()
        cpu0 = cpu_seconds(web.tree())
        ticks = _publish(c, start_at - 2.0, start_at + seconds + 1.0)
        cpu1 = cpu_seconds(web.tree())
        rss = rss_bytes(web.tree())
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=seconds + 120)
            results.append(json.loads(out.strip().splitlines()[-1]))
        reader.join(timeout=5)
    counts = [n for r in results for n in r["frames_per_client"]]
    latencies = [v for r in results for v in r["latencies_ms"]]
    expected = round(seconds)
    return {
        "clients": clients,
        "threads": threads,
        "workers": workers,
        "connected": sum(r["connected"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "closed_by_server": sum(r["closed_by_server"] for r in results),
        "frames_expected_per_client": expected,
        "frames_received": sum(counts),
        "frames_missing": sum(max(0, expected - n) for n in counts)
        + expected * (clients - len(counts)),
        "latency_ms": _quantiles(latencies),
        "raw_xread_ms": _quantiles(raw),
        "publish_ticks": ticks,
        "web_cpu_share": (cpu1 - cpu0) / (seconds + 3.0),
        "web_rss_bytes": rss,
    }


def run(quick: bool) -> dict[str, Any]:
    """Fan out to 100 and 1,000 clients; the default thread count and a raised one."""
    seconds = 4.0 if quick else 15.0
    plan = (
        [(100, 1088, 1)]
        if quick
        else [(100, 64, 1), (100, 1088, 1), (1000, 1088, 1), (1000, 1088, 2)]
    )
    measured = [measure(clients, seconds, threads, workers) for clients, threads, workers in plan]
    rows = []
    for m in measured:
        lat, raw = m["latency_ms"], m["raw_xread_ms"]
        rows.append(
            [
                m["clients"],
                m["workers"],
                m["threads"],
                m["connected"],
                m["frames_received"],
                m["frames_missing"],
                m["closed_by_server"],
                lat["p50"],
                lat["p99"],
                raw["p50"],
                raw["p99"],
                lat["p50"] / raw["p50"] if lat["p50"] and raw["p50"] else None,
                100 * m["web_cpu_share"],
                m["web_rss_bytes"] / 2**20,
            ]
        )
    return {
        "title": "WebSocket fan-out: one web process, N subscribed clients",
        "settings": {
            "server": "Procfile web (gunicorn gthread), WEB_CONCURRENCY and WEB_THREADS as listed",
            "updates": f"{len(SYMBOLS)} symbols x 1 bar update/s; each client subscribes to one",
            "seconds": seconds,
            "clients": f"bench.wsclients, {PER_PROCESS} threads per process",
        },
        "columns": [
            "clients",
            "web processes",
            "WEB_THREADS",
            "connected",
            "frames",
            "missing",
            "closed by server",
            "p50 ms",
            "p99 ms",
            "raw XREAD p50 ms",
            "raw XREAD p99 ms",
            "x raw p50",
            "web CPU %",
            "web RSS MiB",
        ],
        "rows": rows,
        "runs": measured,
        "notes": [
            "Latency: publish (XADD) to frame arrival at the client; baseline: a raw XREAD "
            "BLOCK reader of the same stream in the same run.",
            "Each WebSocket holds one gthread request thread plus its sender thread, so a "
            "process serves at most WEB_THREADS clients; missing = frames a connected client "
            "should have received but did not (or never connected).",
        ],
    }
