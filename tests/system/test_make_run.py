"""What ``make run`` runs: start-all brings up web, worker, beat and flower; Ctrl-C stops all."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from cli.redis_server import LocalRedis, free_port
from tests.processes import ROOT, env_for, wait_for

DEFAULT_SYMBOLS = ("SPY", "QQQ", "IWM", "AAPL", "TSLA")


def _descendants(pid: int) -> set[int]:
    children: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid:
            children |= {int(entry.name)} | _descendants(int(entry.name))
    return children


def _celery_worker(root: int) -> int | None:
    """Return the PID of the pipeline's celery worker (not the io one) under the supervisor."""
    for pid in _descendants(root):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
            parent_cmd = Path(f"/proc/{parent}/cmdline").read_bytes()
        except OSError:
            continue
        program = cmdline[1].rsplit(b"/", 1)[-1] if len(cmdline) > 1 else b""
        pipeline = b"worker" in cmdline and b"deliveries,exports" not in cmdline
        if program == b"celery" and pipeline and b"wagehood-supervise" in parent_cmd:
            return pid
    return None


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def test_start_all_serves_the_default_watchlist_and_ctrl_c_stops_everything(
    process_env: dict[str, str], redis_server: LocalRedis, tmp_path: Path
) -> None:
    api_port, flower_port = free_port(), free_port()
    env = env_for(
        {
            **process_env,
            "API_PORT": str(api_port),
            "FLOWER_PORT": str(flower_port),
            "WAGEHOOD_DATA_DIR": str(tmp_path / "data"),
        }
    )
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "admin", "service", "start-all"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for((tmp_path / "data" / "admin.key").exists, 30, "the admin key")
        key = (tmp_path / "data" / "admin.key").read_text().strip()
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{api_port}/api/v1",
            headers={"Authorization": f"Bearer {key}"},
        )

        def spy_time() -> float:
            return float(client.get("/realtime/data/latest/SPY").json()["time"] or 0)

        def warm(symbol: str, timeframe: str) -> bool:
            # Issue 15: full history and every default indicator non-null on every timeframe.
            response = client.get(f"/realtime/indicators/{symbol}", params={"timeframe": timeframe})
            body = response.json() if response.status_code == 200 else {}
            values = body.get("indicators") or {}
            return body.get("bars_processed", 0) >= 300 and all(
                v is not None for v in values.values()
            )

        def all_warm() -> bool:
            try:
                return all(warm(s, tf) for s in DEFAULT_SYMBOLS for tf in ("1m", "5m", "1h"))
            except httpx.HTTPError:
                return False

        # 30 s on a quiet machine (docs/benchmarks.md); the suite shares two loaded cores.
        wait_for(all_warm, 120, "every default symbol warm on 1m, 5m and 1h", interval=1)
        wait_for(lambda: spy_time() > 0, 30, "SPY's first live tick")
        first = spy_time()
        wait_for(lambda: spy_time() > first, 10, "SPY to update")
        assert httpx.get(f"http://127.0.0.1:{flower_port}/", timeout=5).status_code in (200, 401)
        # a worker that dies (e.g. kombu giving up when Redis vanishes) is restarted
        worker = _celery_worker(proc.pid)
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: _celery_worker(proc.pid) not in (None, worker), 30, "a new worker")
        after = spy_time()
        wait_for(lambda: spy_time() > after, 30, "SPY to update again")
        children = _descendants(proc.pid)
        assert len(children) >= 4

        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        proc.wait(timeout=30)
        wait_for(lambda: not _alive(children), 30, "every process to stop")
    finally:
        # honcho puts each process in its own group: on a failure, end every one we started
        leftovers = _descendants(proc.pid)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.close()
    assert "Admin key" in (tmp_path / "run.log").read_text()
