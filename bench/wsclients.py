"""WebSocket clients for the fan-out bench, run as their own process.

``python -m bench.wsclients SPEC``: SPEC is JSON ``{"url", "token", "clients", "first",
"symbols", "seconds", "start_at"}``. Client ``i`` subscribes to ``symbols[(first + i) %
len(symbols)]``; every bar frame's delivery latency is its arrival time minus the ``sent``
stamp the publisher put in it. Prints one JSON line: frames and seq per client, latencies in
ms, clients connected, clients closed by the server.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import websocket


def _client(spec: dict[str, Any], index: int, out: dict[str, Any]) -> None:
    symbol = spec["symbols"][(spec["first"] + index) % len(spec["symbols"])]
    url = f"{spec['url']}/fan-{spec['first'] + index}"
    header = [f"Authorization: Bearer {spec['token']}"]  # an API key: never in the query
    try:
        ws = websocket.create_connection(url, timeout=30, header=header)
        ws.send(
            json.dumps({"action": "subscribe", "symbols": [symbol], "include_indicators": False})
        )
    except (websocket.WebSocketException, OSError):
        out["failed"] += 1
        return
    out["connected"] += 1
    frames: list[tuple[float, float, str]] = []
    ws.settimeout(1.0)
    end = spec["start_at"] + spec["seconds"] + 3.0
    closed = False
    while time.time() < end:
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            continue
        except (websocket.WebSocketException, OSError):
            closed = True
            break
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            closed = True
            break
        if opcode != websocket.ABNF.OPCODE_TEXT:
            continue  # ping/pong control frames
        arrival = time.time()
        frame = json.loads(data)
        if frame.get("type") == "bar":
            frames.append((arrival, frame["data"]["sent"], symbol))
    ws.close()
    out["closed_by_server"] += int(closed)
    out["frames"].append(frames)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Connect the clients, collect their frames until the window ends."""
    out: dict[str, Any] = {"connected": 0, "failed": 0, "closed_by_server": 0, "frames": []}
    threads = []
    for i in range(spec["clients"]):
        thread = threading.Thread(target=_client, args=(spec, i, out), daemon=True)
        thread.start()
        threads.append(thread)
        if i % 50 == 49:
            time.sleep(0.05)  # do not SYN-flood the listen backlog
    for thread in threads:
        thread.join(timeout=max(1.0, spec["start_at"] + spec["seconds"] + 40 - time.time()))
    start, stop = spec["start_at"], spec["start_at"] + spec["seconds"]
    latencies, counts = [], []
    for frames in out["frames"]:
        inside = [(a - s) * 1000 for a, s, _ in frames if start <= s < stop]
        latencies += inside
        counts.append(len(inside))
    return {
        "connected": out["connected"],
        "failed": out["failed"],
        "closed_by_server": out["closed_by_server"],
        "frames_per_client": counts,
        "latencies_ms": latencies,
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
