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
from bench.pipeline import _wait_http
from bench.seed import seed
from wagehood.service import auth
from wagehood.storage import keys

SYMBOL = "B00000"
# One connection: a request's own latency, no queueing (the seed's "<10 ms" is about this);
# 16 and 64: throughput and latency under closed-loop load.
CONNECTIONS = (1, 16, 64)


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
    seconds = 1.5 if quick else 8.0
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
            "GET data/latest/<symbol>": ("http", f"{base}/data/latest/{SYMBOL}"),
            "GET indicators/<symbol>": ("http", f"{base}/indicators/{SYMBOL}"),
            "raw Redis HGETALL live hash (Python)": ("redis", keys.live(SYMBOL)),
        }
        measured: dict[tuple[str, int], dict[str, Any]] = {}
        for concurrency in CONNECTIONS:
            for name, (kind, target) in targets.items():
                spec = {
                    "kind": kind,
                    "target": target,
                    "redis_url": c.url,
                    "concurrency": concurrency,
                    "seconds": seconds,
                    "headers": headers,
                }
                measured[(name, concurrency)] = _load(spec)
    rows = []
    for (name, concurrency), m in measured.items():
        live = measured[(next(iter(targets)), concurrency)]
        raw = measured[(list(targets)[-1], concurrency)]
        rows.append(
            [
                name,
                concurrency,
                round(m["rps"]),
                m["p50_ms"],
                m["p99_ms"],
                m["errors"],
                m["rps"] / live["rps"],
                m["rps"] / raw["rps"],
                "yes" if (m["p99_ms"] or 1e9) < 10.0 else "no",
            ]
        )
    return {
        "title": "API: requests/s and latency, gunicorn as in the Procfile",
        "settings": {
            "server": "Procfile web (gunicorn gthread, WEB_CONCURRENCY default = "
            f"{min(len(os.sched_getaffinity(0)), 4)} processes, 64 threads each)",
            "seconds_per_point": seconds,
            "client": "bench.loadgen, separate process, keep-alive, closed loop",
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
        "results": {f"{n}@{c}": m for (n, c), m in measured.items()},
        "notes": [
            "Closed loop: each connection sends its next request when the previous answer "
            "arrives, so at 64 connections p99 includes queueing behind the other 63; at 1 "
            "connection the figures are one request's own latency through auth, the rate "
            "limiter and Redis.",
            "Client and server share the same 2 cores; the ratios to the in-run baselines "
            "are the comparable figures.",
        ],
    }
