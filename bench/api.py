"""REST API throughput and latency against a constant endpoint and a raw Redis HGETALL.

The web process is the Procfile's ``web`` line (gunicorn, ``api/gunicorn_conf.py``) on our own
redis-server, with state seeded by the real pipeline. The load generator (``bench.loadgen``)
runs in a separate process with N keep-alive connections. Baselines in the same run:
``monitor/liveness`` (a constant JSON body from the same server, no auth, no Redis) and
``HGETALL`` of the same symbol's live hash straight from Python with N connections.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from bench.cluster import ROOT, Cluster
from bench.loadgen import merge
from bench.pipeline import _wait_http
from bench.seed import seed
from wagehood.service import auth
from wagehood.storage import keys

SYMBOL = "B00000"
# One connection: a request's own latency, no queueing (the seed's "<10 ms" is about this);
# 16 and 64: throughput and latency under closed-loop load.
CONNECTIONS = (1, 16, 64)
ROUNDS = 6  # each point is measured in this many interleaved rounds
OPEN_LOOP_CONNECTIONS = 32  # enough that a slow answer does not hold up the next due one
LATEST = "GET data/latest/<symbol>"


def _load(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=spec["seconds"] + 60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool) -> dict[str, Any]:
    """Measure every target at 1, 16 and 64 connections; ratios to liveness and HGETALL."""
    seconds, rounds = (2.0, 2) if quick else (8.0, ROUNDS)
    with Cluster() as c:
        store = seed(c.url, [SYMBOL, "B00001", "B00002"], minutes=70)
        key = auth.create_key(store, "bench", "read", "100000000/minute").key
        # The liveness baseline is a public route, limited per address (RATE_LIMIT_PUBLIC):
        # lifted here like the key's own limit, so both sides measure serving, not refusals.
        c.start("web", WEB_THREADS="64", RATE_LIMIT_PUBLIC="100000000/minute")
        _wait_http(c.api_port)
        base = f"http://127.0.0.1:{c.api_port}/api/v1/realtime"
        headers = {"Authorization": f"Bearer {key}"}
        targets = {
            "GET monitor/liveness (constant baseline)": ("http", f"{base}/monitor/liveness"),
            LATEST: ("http", f"{base}/data/latest/{SYMBOL}"),
            "GET indicators/<symbol>": ("http", f"{base}/indicators/{SYMBOL}"),
            "raw Redis HGETALL live hash (Python)": ("redis", keys.live(SYMBOL)),
        }
        runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for concurrency in CONNECTIONS:
            # Interleaved rounds: the machine's load drifts, and every target of a round
            # sees about the same drift, so the ratios compare like with like.
            for _ in range(rounds):
                for name, (kind, target) in targets.items():
                    spec = {
                        "kind": kind,
                        "target": target,
                        "redis_url": c.url,
                        "concurrency": concurrency,
                        "seconds": seconds / rounds,
                        "headers": headers,
                        "latencies": True,
                    }
                    runs.setdefault((name, concurrency), []).append(_load(spec))
        measured = {point: merge(point_runs) for point, point_runs in runs.items()}
        # Open loop: a fixed offered rate, half the most data/latest answered closed-loop.
        rate = round(max(measured[(LATEST, n)]["rps"] for n in CONNECTIONS) / 2)
        open_runs: dict[str, list[dict[str, Any]]] = {}
        for _ in range(rounds):
            for name, (kind, target) in list(targets.items())[:3]:
                spec = {
                    "kind": kind,
                    "target": target,
                    "concurrency": OPEN_LOOP_CONNECTIONS,
                    "seconds": seconds / rounds,
                    "headers": headers,
                    "rate": rate,
                    "latencies": True,
                }
                open_runs.setdefault(name, []).append(_load(spec))
        open_loop = {name: merge(name_runs) for name, name_runs in open_runs.items()}
    rows = []
    for (name, concurrency), m in measured.items():
        live = measured[(next(iter(targets)), concurrency)]
        raw = measured[(list(targets)[-1], concurrency)]
        rows.append(_row(name, concurrency, m, m["rps"] / live["rps"], m["rps"] / raw["rps"]))
    for name, m in open_loop.items():
        rows.append(_row(f"{name}, open loop at {rate} req/s", OPEN_LOOP_CONNECTIONS, m, "-", "-"))
    return {
        "title": "API: requests/s and latency, gunicorn as in the Procfile",
        "open_loop_rate": rate,
        "settings": {
            "server": "Procfile web (gunicorn gthread, WEB_CONCURRENCY default = "
            f"{min(len(os.sched_getaffinity(0)), 4)} processes, 64 threads each)",
            "seconds_per_point": seconds,
            "client": "bench.loadgen, separate process, keep-alive, closed loop "
            f"({rounds} interleaved rounds per point) and open loop",
            "auth": "API key + per-key rate limit (as in production)",
        },
        "columns": [
            "target",
            "connections",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "x liveness rps",
            "x HGETALL rps",
            "p99 < 10 ms",
        ],
        "rows": rows,
        "results": {f"{n}@{c}": m for (n, c), m in measured.items()}
        | {f"{n}@open:{rate}": m for n, m in open_loop.items()},
        "notes": [
            "Closed loop: each connection sends its next request when the previous answer "
            "arrives, so at 64 connections p99 includes queueing behind the other 63; at 1 "
            "connection the figures are one request's own latency through auth, the rate "
            "limiter and Redis.",
            "Open loop: requests are due at a fixed rate (half the most data/latest answered "
            f"closed-loop in this run) over {OPEN_LOOP_CONNECTIONS} connections, and latency "
            "counts from when a request was due, so a stall shows in p99 instead of slowing "
            "the load (no coordinated omission). Its p99 is the latency target's figure: a "
            "closed loop of 64 connections queues by construction (Little's law). The "
            "liveness baseline runs at the same offered rate: when its own p99 misses 10 ms, "
            "the shared machine could not keep that rate at the time, whatever the route.",
            "data/latest and indicators are served from the web process's live view after "
            "the first request (api/live_view.py): no worker updates the seeded symbol "
            "during the run, so nearly every answer comes from the view. With updates, each "
            "frame of a symbol sends its next request to Redis (one extra pipelined read).",
            "Client and server share the same 2 cores; the ratios to the in-run baselines "
            "are the comparable figures.",
        ],
    }


def _row(name: str, connections: int, m: dict[str, Any], live: Any, raw: Any) -> list[Any]:
    p99 = m["p99_ms"]
    ok = "yes" if (p99 or 1e9) < 10.0 else "no"
    return [name, connections, round(m["rps"]), m["p50_ms"], p99, m["errors"], live, raw, ok]
