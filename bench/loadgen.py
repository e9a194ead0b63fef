"""A closed- or open-loop load generator, run as its own process: ``python -m bench.loadgen SPEC``.

``SPEC`` is JSON: ``{"kind": "http" | "redis", "target": ..., "concurrency": N, "seconds": S,
"headers": {...}, "rate": R}``; ``target`` may be a list (URLs on one host, or Redis keys),
requests then go round it, each thread from its own starting point. N threads each hold one keep-alive connection (HTTP/1.1, or
one Redis connection running ``HGETALL target``) for S seconds. Without ``rate`` the loop is
closed: each thread sends its next request as soon as the previous answer arrived. With
``rate`` (HTTP only) it is open: requests are due at a fixed R per second in all, dealt round
robin to the threads, and a request's latency counts from when it was due, not from when a
busy thread got to send it (no coordinated omission). Prints one JSON line: requests, errors,
seconds, latencies' p50/p99 in milliseconds.
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit


def _targets(spec: dict[str, Any]) -> list[str]:
    """Return the spec's targets as a list rotated to a random start (one per thread)."""
    targets = spec["target"] if isinstance(spec["target"], list) else [spec["target"]]
    start = random.randrange(len(targets))
    return targets[start:] + targets[:start]


def _paths(spec: dict[str, Any]) -> tuple[Any, list[str]]:
    """Return the targets' host URL and their paths with query strings."""
    urls = [urlsplit(t) for t in _targets(spec)]
    return urls[0], [u.path + (f"?{u.query}" if u.query else "") for u in urls]


def _http_worker(
    spec: dict[str, Any], deadline: float, out: list[float], errors: list[int]
) -> None:
    url, paths = _paths(spec)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = spec.get("headers", {})
    i = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        path, i = paths[i], (i + 1) % len(paths)
        ok, conn = _get(conn, path, headers)
        if ok:
            out.append(time.perf_counter() - started)
        else:
            errors.append(1)
    conn.close()


def _get(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str]
) -> tuple[bool, http.client.HTTPConnection]:
    # One GET; whether it answered 200, and the connection to use next (a new one after a
    # failure).
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status == 200, conn
    except (OSError, http.client.HTTPException):
        conn.close()
        return False, http.client.HTTPConnection(conn.host, conn.port, timeout=10)


def _open_http_worker(
    spec: dict[str, Any], due: list[float], out: list[float], errors: list[int]
) -> None:
    url, paths = _paths(spec)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = spec.get("headers", {})
    conn.connect()  # before the first request is due: its latency is not a TCP handshake
    for n, at in enumerate(due):
        wait = at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        ok, conn = _get(conn, paths[n % len(paths)], headers)
        if ok:
            out.append(time.perf_counter() - at)
        else:
            errors.append(1)
    conn.close()


def _redis_worker(
    spec: dict[str, Any], deadline: float, out: list[float], errors: list[int]
) -> None:
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(spec["redis_url"], decode_responses=True)
    names = _targets(spec)
    i = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        key, i = names[i], (i + 1) % len(names)
        try:
            client.hgetall(key)
        except redis.RedisError:
            errors.append(1)
            continue
        out.append(time.perf_counter() - started)
    client.close()


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load described by ``spec`` and return its summary."""
    count = spec["concurrency"]
    latencies: list[list[float]] = [[] for _ in range(count)]
    errors: list[int] = []
    started = time.perf_counter()
    deadline = started + spec["seconds"]
    if spec.get("rate"):
        first = started + 0.2  # every thread started and connected
        due = [first + i / spec["rate"] for i in range(int(spec["rate"] * spec["seconds"]))]
        jobs = [(_open_http_worker, due[i::count]) for i in range(count)]
    else:
        worker = _http_worker if spec["kind"] == "http" else _redis_worker
        jobs = [(worker, deadline) for _ in range(count)]
    threads = [
        threading.Thread(target=job, args=(spec, arg, latencies[i], errors), daemon=True)
        for i, (job, arg) in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=spec["seconds"] + 30)
    elapsed = time.perf_counter() - started
    values = sorted(v for chunk in latencies for v in chunk)

    def pick(q: float) -> float | None:
        return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else None

    summary = {
        "requests": len(values),
        "errors": len(errors),
        "seconds": elapsed,
        "rps": len(values) / elapsed,
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
    }
    if spec.get("latencies"):  # every latency (ms), to merge several runs' percentiles
        summary["latencies_ms"] = [round(v * 1000, 4) for v in values]
    return summary


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the summary of several runs (with ``latencies``) of the same load, as one."""
    values = sorted(v for run in runs for v in run["latencies_ms"])
    seconds = sum(run["seconds"] for run in runs)

    def pick(q: float) -> float | None:
        return values[min(len(values) - 1, int(q * len(values)))] if values else None

    return {
        "requests": len(values),
        "errors": sum(run["errors"] for run in runs),
        "seconds": seconds,
        "rps": len(values) / seconds,
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
        "rounds": len(runs),
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
