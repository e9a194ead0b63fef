"""A whole Wagehood started from the Procfile: its own Redis, gunicorn web, worker and beat.

Each process runs the Procfile's own command line (``bash -c "exec <line>"``), in its own
session, and is stopped by its PID. ``System`` also gives HTTP helpers and RSS readings.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from cli.procs import procfile_commands
from cli.redis_server import LocalRedis, free_port
from tests.processes import Proc, env_for, wait_for
from wagehood.service import auth, watchlist
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

BIN = str(Path(sys.executable).parent)
HEALTH = "/api/v1/realtime/monitor/health"


def procfile() -> dict[str, str]:
    """Return the Procfile's command line of each process type (parsed as ``make run`` does)."""
    return procfile_commands()


def rss_kib(pid: int) -> int:
    """Return the resident memory of ``pid`` and its descendants in KiB (0 if gone)."""
    return sum(rss_tree_kib(pid).values())


def rss_tree_kib(pid: int) -> dict[int, int]:
    """Return the resident memory in KiB of ``pid`` and of each descendant, by PID."""
    found = {}
    for child in [pid, *_descendants(pid)]:
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+)", status)
        found[child] = int(match.group(1)) if match else 0
    return found


def _descendants(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    found = [int(c) for c in children]
    return found + [d for c in found for d in _descendants(c)]


class System:
    """Redis + the Procfile's web, worker and beat, on free ports in ``root``."""

    def __init__(self, root: Path, symbols: list[str], **env: str) -> None:
        """Prepare (not start) a system watching ``symbols`` with extra ``env``."""
        self.root = root
        self.redis = LocalRedis(directory=root / "redis", port=free_port())
        self.port = free_port()
        self.env: dict[str, str] = {
            "REDIS_URL": self.redis.url,
            "WAGEHOOD_DATA_DIR": str(root / "data"),
            "API_HOST": "127.0.0.1",
            "API_PORT": str(self.port),
            "DATA_UPDATE_INTERVAL": "1",
            "WATCHLIST_SYMBOLS": ",".join(symbols[:1]),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "info",
            "BROKER_VISIBILITY_TIMEOUT": "10",
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            **env,
        }
        self.symbols = symbols
        self.procs: dict[str, Proc] = {}
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings.from_env(self.env)
        self.store = RedisStore.from_url(self.redis.url)
        self.key = ""
        self.read_key = ""

    def start(self, providers: Mapping[str, str] | None = None) -> System:
        """Start Redis, fill the watchlist, create keys, start web, worker and beat."""
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        self.redis.start(appendonly=True)
        watchlist.replace_all(
            self.store, [(s, (providers or {}).get(s, "mock")) for s in self.symbols]
        )
        self.key = auth.create_key(self.store, "ops-admin", "admin").key
        self.read_key = auth.create_key(self.store, "ops-reader", "read").key
        for kind in ("web", "worker", "io", "beat"):
            self.start_process(kind)
        wait_for(self.web_up, 30, "gunicorn to answer")
        return self

    def start_process(self, kind: str, name: str | None = None) -> Proc:
        """Start the Procfile's ``kind`` process (log in ``root/<name>.log``)."""
        name = name or kind
        line = procfile()[kind]
        log = self.root / f"{name}.log"
        proc = Proc(["bash", "-c", f"exec {line}"], env_for(self.env), log)
        self.procs[name] = proc
        return proc

    def supervise(self) -> list[str]:
        """Restart any process that exited (what systemd or Kubernetes would do)."""
        dead = [name for name, proc in self.procs.items() if proc.process.poll() is not None]
        for name in dead:
            self.procs[name].stop()
            self.start_process(name)
        return dead

    def stop(self) -> None:
        """Stop every process we started, then Redis."""
        for proc in self.procs.values():
            proc.stop()
        self.redis.stop()

    def web_up(self) -> bool:
        """Return whether gunicorn answers the liveness probe."""
        try:
            return httpx.get(f"{self.url}/api/v1/realtime/monitor/liveness", timeout=2).is_success
        except httpx.HTTPError:
            return False

    def get(self, path: str, key: str | None = None, **params: Any) -> httpx.Response:
        """GET ``/api/v1`` + ``path`` with the admin key (or ``key``)."""
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return httpx.get(f"{self.url}/api/v1{path}", headers=headers, params=params, timeout=10)

    def health(self) -> dict[str, Any]:
        """Return the health body (whatever its status code)."""
        body: dict[str, Any] = httpx.get(f"{self.url}{HEALTH}", timeout=10).json()
        return body

    def alert_ids(self) -> set[str]:
        """Return the ids of the active alerts (evaluating them now)."""
        return {a["id"] for a in self.get("/realtime/monitor/alerts").json()["alerts"]}

    def logs(self) -> str:
        """Return every process log and Redis's log, concatenated."""
        paths = [*self.root.glob("*.log"), self.root / "redis" / "redis.log"]
        return "\n".join(p.read_text(errors="replace") for p in paths if p.exists())

    def json_lines(self, name: str) -> list[dict[str, Any]]:
        """Return the JSON log records of process ``name`` (other lines are skipped)."""
        records = []
        for line in (self.root / f"{name}.log").read_text(errors="replace").splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    def wait_fresh(self, timeout: float = 60) -> None:
        """Wait until every watched symbol has a recent update."""
        limit = 3 * self.settings.data_update_interval + 2

        def fresh() -> bool:
            now = time.time()
            times = [self.store.client.hget(f"wh:{{{s}}}:live", "time") for s in self.symbols]
            return all(t is not None and now - float(t) < limit for t in times)

        try:
            wait_for(fresh, timeout, "every symbol to be fresh", interval=0.5)
        except AssertionError as error:
            times = [self.store.client.hget(f"wh:{{{s}}}:live", "time") for s in self.symbols]
            ages = {
                s: t and round(time.time() - float(t))
                for s, t in zip(self.symbols, times, strict=True)
            }
            raise AssertionError(f"{error}: ages {ages}, alerts {self.alert_ids()}") from None
