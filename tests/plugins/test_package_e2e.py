"""The example package pip-installed into a venv, on a real web, worker and beat.

The venv sees the project's own environment through a ``.pth`` (so nothing is downloaded
and the project venv is left untouched); the example is built and installed into it with pip
(``--no-index``). The Procfile's processes run from that venv: they find the plugin through
its entry points, as a user's installation would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket
from celery import Celery
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.factories import send_tick, stored_bars
from tests.ops.system import BIN, System
from tests.processes import ROOT, env_for, wait_for
from wagehood.service import auth, watchlist
from wagehood.storage import keys
from wagehood.types import Timeframe, iso_time

EXAMPLE = ROOT / "examples" / "wagehood-donchian"
SCRIPTS = ("celery", "gunicorn", "wagehood", "wagehood-supervise")
SYMBOL = "PLUG"
STRATEGY = "donchian_breakout"


def plugin_venv(root: Path) -> Path:
    """Create a venv over the project's environment and pip install the example into it."""
    venv = root / "venv"
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.check_output([python, "-c", code], text=True).strip())
    project = sysconfig.get_paths()["purelib"]
    (site / "_wagehood_project.pth").write_text(f"import site; site.addsitedir({project!r})\n")
    source = root / "example"  # built from a copy: the build leaves files behind
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    subprocess.run(
        [*pip, "--no-deps", "--no-build-isolation", "--no-index", str(source)],
        check=True,
        timeout=240,
    )
    for name in SCRIPTS:  # the console scripts, run by the venv's interpreter
        body = (Path(BIN) / name).read_text().split("\n", 1)[1]
        script = venv / "bin" / name
        script.write_text(f"#!{python}\n{body}")
        script.chmod(0o755)
    return venv


@pytest.fixture
def installed(tmp_path: Path, httpserver: HTTPServer) -> Iterator[tuple[System, Path]]:
    """A system whose processes run from a venv with the example plugin installed."""
    venv = plugin_venv(tmp_path)
    system = System(
        tmp_path / "system",
        [SYMBOL],
        PATH=f"{venv / 'bin'}:{BIN}:/usr/bin:/bin",
        TIMEFRAMES="1m",
        WEBHOOK_ALLOW_PRIVATE="true",
    )
    yield system, venv
    system.stop()


def start_web(system: System) -> None:
    (system.root / "data").mkdir(parents=True, exist_ok=True)
    system.redis.start(appendonly=True)
    watchlist.replace_all(system.store, [(SYMBOL, "mock")])
    system.key = auth.create_key(system.store, "e2e-admin", "admin").key
    system.start_process("web")
    wait_for(system.web_up, 60, "gunicorn to answer")


def put(system: System, path: str, body: dict[str, Any], method: str = "PUT") -> Any:
    import httpx  # noqa: PLC0415 - as tests/ops/system.py uses it

    response = httpx.request(
        method,
        f"{system.url}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {system.key}"},
        timeout=10,
    )
    assert response.is_success, response.text
    return response.json()


def collect_ws(system: System, frames: list[dict[str, Any]], stop: threading.Event) -> None:
    # A client that falls behind a flood of frames is dropped by the server (slow consumer);
    # like a real client, it reconnects and resumes from the last sequence number it saw.
    url = f"ws://127.0.0.1:{system.port}/api/v1/realtime/ws/e2e"
    while not stop.is_set():
        seen = [f["seq"] for f in frames if isinstance(f.get("seq"), int)]
        subscribe = {"action": "subscribe", "symbols": [SYMBOL]}
        if seen:
            subscribe["since_seq"] = max(seen)
        try:
            ws = websocket.create_connection(
                url, header=[f"Authorization: Bearer {system.key}"], timeout=5
            )
            ws.send(json.dumps(subscribe))
            while not stop.is_set():
                try:
                    frames.append(json.loads(ws.recv()))
                except websocket.WebSocketTimeoutException:
                    continue
            ws.close()
        except (websocket.WebSocketException, OSError):
            time.sleep(0.5)


def warm(system: System) -> bool:
    entries = system.get("/realtime/config/watchlist").json()["symbols"]
    return any(
        e["symbol"] == SYMBOL and (e.get("sync") or {}).get("state") == "live" for e in entries
    )


def test_installed_plugin_signals_everywhere_and_replays_the_same(
    installed: tuple[System, Path], httpserver: HTTPServer, tmp_path: Path
) -> None:
    system, venv = installed
    start_web(system)
    hooks: list[dict[str, Any]] = []
    httpserver.expect_request("/hook", method="POST").respond_with_handler(
        lambda request: hooks.append(json.loads(request.get_data())) or Response("ok")
    )
    listed = system.get("/realtime/config/strategies").json()["available"]
    put(
        system, "/realtime/config/strategies", {"strategies": {STRATEGY: {"params": {"period": 5}}}}
    )
    put(
        system,
        "/realtime/config/indicators",
        {"indicators": {"sma_20": "sma(20)", "dc": "donchian(10)"}},
    )
    channel = {"name": "hook", "url": httpserver.url_for("/hook"), "strategies": [STRATEGY]}
    put(system, "/realtime/alerts/channels", channel, method="POST")
    frames: list[dict[str, Any]] = []
    stop = threading.Event()
    reader = threading.Thread(target=collect_ws, args=(system, frames, stop), daemon=True)
    reader.start()
    system.start_process("worker")
    system.start_process("io")  # webhook deliveries run on the io worker's queue
    system.start_process("beat")
    # The symbol is warmed up from the mock's history first (issue 15); simulated ticks then
    # continue from the clock, ahead of it (the mock feed is a function of time): hours of
    # bars in a minute, contiguous with the history; beat's own ticks, behind them, change
    # nothing.
    wait_for(lambda: warm(system), 120, "the symbol's warm-up", interval=1)
    producer = Celery("e2e-producer", broker=system.redis.url)
    start = (int(time.time()) // 20 + 2) * 20
    for tick in range(start, start + 4 * 3600, 20):
        send_tick(producer, [SYMBOL], float(tick))

    def signals() -> list[dict[str, Any]]:
        body = system.get(f"/realtime/signals/{SYMBOL}", timeframe="1m", limit=1000).json()
        return [s for s in body.get("signals", []) if s["strategy"] == STRATEGY]

    wait_for(lambda: len(signals()) >= 2, 150, "the plugin's signals", interval=1)
    wait_for(
        lambda: any(STRATEGY in json.dumps(h) for h in hooks), 60, "a webhook delivery", interval=1
    )
    wait_for(
        lambda: any(f["type"] == "signal" and f["data"]["strategy"] == STRATEGY for f in frames),
        30,
        "a signal frame on the WebSocket",
    )
    stop.set()

    assert listed[STRATEGY]["plugin"] is True
    indicators = system.get(f"/realtime/indicators/{SYMBOL}", timeframe="1m").json()["indicators"]
    assert {"dc_upper", "dc_middle", "dc_lower", "dc_5_upper"} <= set(indicators)
    chart = system.get(f"/realtime/data/historical/{SYMBOL}", timeframe="1m").json()["bars"]
    assert chart[-1]["indicators"]["dc_upper"] >= chart[-1]["indicators"]["dc_lower"]
    health = system.health()["components"]["plugins"]
    assert health == {"status": "ok", "problems": []}

    listing = subprocess.run(
        [venv / "bin" / "wagehood", "plugins", "list", "--format", "json"],
        env=env_for(system.env), capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    rows = {row["name"]: row for row in json.loads(listing.stdout)}
    assert (rows[STRATEGY]["package"], rows[STRATEGY]["version"]) == ("wagehood-donchian", "0.1.0")
    assert rows["donchian"]["status"] == "loaded"

    last = system.store.client.hget(keys.strategy_state(SYMBOL, Timeframe.M1), "last_eval")
    csv = tmp_path / f"{SYMBOL}.csv"
    bars = stored_bars(system.store, SYMBOL, Timeframe.M1)
    csv.write_text(
        "time,open,high,low,close,volume\n"
        + "".join(
            f"{b.time},{b.open!r},{b.high!r},{b.low!r},{b.close!r},{b.volume!r}\n" for b in bars
        )
    )
    replayed = subprocess.run(
        [venv / "bin" / "wagehood", "replay", csv, "--timeframe", "1m",
         "--strategy", f"{STRATEGY}:period=5", "--format", "json"],
        env=env_for(system.env), capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    live = [(s["timestamp"], s["confidence"]) for s in signals() if s["time"] <= int(last)]
    cut = iso_time(int(last))  # the last bar the live pipeline evaluated
    offline = [(row["time"], row["confidence"]) for row in json.loads(replayed.stdout)]
    assert len(live) >= 2
    assert [row for row in offline if row[0] <= cut] == live


def test_example_package_tests_pass_once_installed(tmp_path: Path) -> None:
    venv = plugin_venv(tmp_path)

    result = subprocess.run(
        [venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=tmp_path / "example", capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout
