"""REST API throughput and latency against a constant endpoint and a raw Redis HGETALL.

The web process is the Procfile's ``web`` line (gunicorn, ``api/gunicorn_conf.py``) on our own
redis-server, with state seeded by the real pipeline. While the API is loaded, the pipeline
runs as in production: the Procfile's ``worker`` and ``beat`` on a watchlist of ``SYMBOLS``
mock symbols at the 1 s interval, so every symbol's live state is committed and its frame
published once a second. Requests go round those symbols, and the web processes' view
counters (``wagehood_read_view_hits_total``/``misses_total`` on ``/metrics``) give the share
of answers served from the live view. The load generator (``bench.loadgen``) runs in a
separate process with N keep-alive connections. Baselines in the same run:
``monitor/liveness`` (a constant JSON body from the same server, no auth, no Redis) and
``HGETALL`` of the same symbols' live hashes straight from Python with N connections.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench.cluster import ROOT, Cluster
from bench.loadgen import merge
from bench.pipeline import _wait_http, symbols
from bench.seed import seed
from wagehood.service import auth, watchlist
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore

SYMBOLS = 100  # a realistic watchlist, every symbol updated once a second during the run
# One connection: a request's own latency, no queueing (the seed's "<10 ms" is about this);
# 16 and 64: throughput and latency under closed-loop load.
CONNECTIONS = (1, 16, 64)
ROUNDS = 6  # each point is measured in this many interleaved rounds
OPEN_LOOP_CONNECTIONS = 32  # enough that a slow answer does not hold up the next due one
LATEST = "GET data/latest/<symbol>"
INDICATORS = "GET indicators/<symbol>"
VIEW_ROUTES = {LATEST: "data.latest", INDICATORS: "indicators.indicators"}


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


def _view_counts(port: int) -> dict[tuple[str, str], float]:
    """Return the web processes' view hits and misses by route, from ``/metrics``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        text = answer.read().decode()
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name in ("wagehood_read_view_hits", "wagehood_read_view_misses"):
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    kind = family.name.rsplit("_", 1)[1]
                    counts[(sample.labels["route"], kind)] = sample.value
    return counts


def _hit_rate(before: dict[Any, float], after: dict[Any, float], route: str) -> dict[str, int]:
    hits = after.get((route, "hits"), 0) - before.get((route, "hits"), 0)
    misses = after.get((route, "misses"), 0) - before.get((route, "misses"), 0)
    return {"view_hits": int(hits), "view_misses": int(misses)}


def _updates(c: Cluster) -> int:
    return int(c.client.get(keys.UPDATES_SEQ) or 0)


def _wait_updates(c: Cluster, count: int, timeout: float = 120.0) -> None:
    """Wait until the running pipeline has published ``count`` more frames."""
    start, deadline = _updates(c), time.monotonic() + timeout
    while _updates(c) - start < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the pipeline published no {count} updates in {timeout}s")
        time.sleep(0.2)


def _measure(
    c: Cluster, spec: dict[str, Any], route: str | None, into: list[dict[str, Any]]
) -> None:
    """Run one load; for a view route, add the view hits and misses it caused."""
    before = _view_counts(c.api_port) if route else {}
    result = _load(spec)
    if route:
        result.update(_hit_rate(before, _view_counts(c.api_port), route))
    into.append(result)


def _merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged = merge(runs)
    if "view_hits" in runs[0]:
        hits = sum(r["view_hits"] for r in runs)
        misses = sum(r["view_misses"] for r in runs)
        merged.update(view_hits=hits, view_misses=misses)
        merged["view_hit_rate"] = round(hits / (hits + misses), 3) if hits + misses else None
    return merged


def _start_pipeline(c: Cluster, names: list[str]) -> RedisStore:
    """Seed history, then run worker and beat on ``names`` (mock) until frames flow."""
    store = seed(c.url, names, minutes=70)
    watchlist.replace_all(store, [(s, "mock") for s in names])
    c.start("worker")
    c.wait_workers(1)
    c.start("beat")
    _wait_updates(c, 3 * len(names))
    return store


def run(quick: bool) -> dict[str, Any]:
    """Measure every target at 1, 16 and 64 connections; ratios to liveness and HGETALL."""
    seconds, rounds = (2.0, 2) if quick else (8.0, ROUNDS)
    with Cluster() as c:
        names = symbols(SYMBOLS)
        store = _start_pipeline(c, names)
        key = auth.create_key(store, "bench", "read", "100000000/minute").key
        # The liveness baseline is a public route, limited per address (RATE_LIMIT_PUBLIC):
        # lifted here like the key's own limit, so both sides measure serving, not refusals.
        c.start("web", WEB_THREADS="64", RATE_LIMIT_PUBLIC="100000000/minute")
        _wait_http(c.api_port)
        base = f"http://127.0.0.1:{c.api_port}/api/v1/realtime"
        headers = {"Authorization": f"Bearer {key}"}
        targets: dict[str, tuple[str, Any]] = {
            "GET monitor/liveness (constant baseline)": ("http", f"{base}/monitor/liveness"),
            LATEST: ("http", [f"{base}/data/latest/{s}" for s in names]),
            INDICATORS: ("http", [f"{base}/indicators/{s}" for s in names]),
            "raw Redis HGETALL live hash (Python)": ("redis", [keys.live(s) for s in names]),
        }
        updates_at = (_updates(c), time.monotonic())
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
                    into = runs.setdefault((name, concurrency), [])
                    _measure(c, spec, VIEW_ROUTES.get(name), into)
        measured = {point: _merge(point_runs) for point, point_runs in runs.items()}
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
                _measure(c, spec, VIEW_ROUTES.get(name), open_runs.setdefault(name, []))
        open_loop = {name: _merge(name_runs) for name, name_runs in open_runs.items()}
        updates_per_s = (_updates(c) - updates_at[0]) / (time.monotonic() - updates_at[1])
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
        "updates_per_s": updates_per_s,
        "settings": {
            "server": "Procfile web (gunicorn gthread, WEB_CONCURRENCY default = "
            f"{min(len(os.sched_getaffinity(0)), 4)} processes, 64 threads each)",
            "seconds_per_point": seconds,
            "client": "bench.loadgen, separate process, keep-alive, closed loop "
            f"({rounds} interleaved rounds per point) and open loop",
            "auth": "API key + per-key rate limit (as in production)",
            "pipeline": f"Procfile worker + beat, {SYMBOLS} mock symbols at the 1 s interval, "
            f"running throughout ({updates_per_s:.0f} frames/s on wh:updates measured)",
            "requests": f"round the {SYMBOLS} symbols, each connection from its own start",
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
            "view hit rate",
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
            "data/latest and indicators are served from the web process's live view "
            "(api/live_view.py) until a frame of their symbol arrives or 1 s passes. The "
            f"pipeline updates every one of the {SYMBOLS} symbols once a second throughout, "
            "so each symbol's next request per route and web process after a frame reads "
            "Redis; 'view hit rate' is the share served from the view, from the web "
            "processes' wagehood_read_view_hits_total / misses_total counters over the "
            "point's rounds. The higher the request rate per symbol, the higher the hit rate: "
            "at a few requests per symbol per second most answers read Redis.",
            "Client and server share the same 2 cores; the ratios to the in-run baselines "
            "are the comparable figures.",
        ],
    }


def _row(name: str, connections: int, m: dict[str, Any], live: Any, raw: Any) -> list[Any]:
    p99 = m["p99_ms"]
    ok = "yes" if (p99 or 1e9) < 10.0 else "no"
    hit_rate = m.get("view_hit_rate")
    hits = "-" if hit_rate is None else f"{hit_rate:.0%}"
    row = [name, connections, round(m["rps"]), m["p50_ms"], p99, m["errors"], live, raw, ok]
    return [*row, hits]
