"""A closed-loop load generator, run as its own process: ``python -m bench.loadgen SPEC``.

``SPEC`` is JSON: ``{"kind": "http" | "redis", "target": ..., "concurrency": N, "seconds": S,
"headers": {...}}``. N threads each hold one keep-alive connection (HTTP/1.1, or one Redis
connection running ``HGETALL target``) and send the next request as soon as the previous
answer arrived, for S seconds. Prints one JSON line: requests, errors, seconds, latencies'
p50/p99 in milliseconds.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit


def _http_worker(
    spec: dict[str, Any], deadline: float, out: list[float], errors: list[int]
) -> None:
    url = urlsplit(spec["target"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    path = url.path + (f"?{url.query}" if url.query else "")
    headers = spec.get("headers", {})
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        if ok:
            out.append(time.perf_counter() - started)
        else:
            errors.append(1)
    conn.close()


def _redis_worker(
    spec: dict[str, Any], deadline: float, out: list[float], errors: list[int]
) -> None:
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(spec["redis_url"], decode_responses=True)
    key = spec["target"]
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            client.hgetall(key)
        except redis.RedisError:
            errors.append(1)
            continue
        out.append(time.perf_counter() - started)
    client.close()


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load described by ``spec`` and return its summary."""
    worker = _http_worker if spec["kind"] == "http" else _redis_worker
    latencies: list[list[float]] = [[] for _ in range(spec["concurrency"])]
    errors: list[int] = []
    started = time.perf_counter()
    deadline = started + spec["seconds"]
    threads = [
        threading.Thread(target=worker, args=(spec, deadline, latencies[i], errors), daemon=True)
        for i in range(spec["concurrency"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=spec["seconds"] + 30)
    elapsed = time.perf_counter() - started
    values = sorted(v for chunk in latencies for v in chunk)

    def pick(q: float) -> float | None:
        return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else None

    return {
        "requests": len(values),
        "errors": len(errors),
        "seconds": elapsed,
        "rps": len(values) / elapsed,
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
