"""``make run``'s own Redis: one per checkout, password-protected, private files, no leftovers.

These use the local-run ports (6390 and up), like ``make run`` itself: run them one at a time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from cli.local import ensure_redis
from cli.redis_server import LocalRedis, free_port, is_listening
from tests.processes import Proc, env_for, wait_for
from wagehood.settings import Settings


@pytest.fixture
def started() -> Iterator[list[LocalRedis]]:
    """Servers a test started; stopped by PID at the end, whatever happened."""
    servers: list[LocalRedis] = []
    yield servers
    for server in servers:
        server.stop()


def _ensure(data_dir: Path, started: list[LocalRedis]) -> tuple[str, LocalRedis | None]:
    url, server = ensure_redis(Settings.from_env({"WAGEHOOD_DATA_DIR": str(data_dir)}), {})
    if server is not None:
        started.append(server)
    return url, server


def test_two_checkouts_get_two_servers_and_a_deleted_data_dir_is_not_shared(
    tmp_path: Path, started: list[LocalRedis], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "one" / ".wagehood", tmp_path / "two" / ".wagehood"
    url_one, server_one = _ensure(first, started)
    assert server_one is not None
    assert first.is_dir()
    redis.Redis.from_url(url_one).set("owner", "one")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=server_one.port).ping()

    assert _ensure(first, started) == (url_one, None)  # the same checkout reuses its own

    url_two, server_two = _ensure(second, started)
    assert server_two is not None
    assert server_two.port != server_one.port
    assert server_two.password != server_one.password
    assert redis.Redis.from_url(url_two).get("owner") is None

    shutil.rmtree(first)  # `rm -rf .wagehood` while its server still runs
    url_again, server_again = _ensure(first, started)
    assert server_again is not None
    assert server_again.port not in (server_one.port, server_two.port)
    assert redis.Redis.from_url(url_again).get("owner") is None
    assert "does not accept this checkout's password" in capsys.readouterr().err


def test_the_password_and_the_servers_files_are_private(
    tmp_path: Path, started: list[LocalRedis]
) -> None:
    data_dir = tmp_path / ".wagehood"
    url, server = _ensure(data_dir, started)
    assert server is not None
    client = redis.Redis.from_url(url)
    client.set("k", "v")
    client.bgrewriteaof()
    wait_for(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0, 30, "the rewrite")
    files = [data_dir / "redis.password", *[p for p in server.directory.rglob("*") if p.is_file()]]
    assert any("appendonly" in str(p) for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert server.password not in " ".join(
        Path(f"/proc/{server.pid()}/cmdline").read_text().split("\0")
    )


def test_make_run_after_rm_rf_beside_another_checkouts_redis_stops_its_own_on_ctrl_c(
    tmp_path: Path, started: list[LocalRedis]
) -> None:
    _, other = _ensure(tmp_path / "other" / ".wagehood", started)  # another clone's make run
    assert other is not None
    data_dir, api_port = tmp_path / "clone" / ".wagehood", free_port()
    env = {k: v for k, v in env_for({}).items() if not k.startswith("REDIS_")}
    env |= {"WAGEHOOD_DATA_DIR": str(data_dir), "API_PORT": str(api_port)}
    env |= {"FLOWER_PORT": str(free_port()), "DATA_UPDATE_INTERVAL": "1"}
    command = [sys.executable, "-m", "cli", "admin", "service", "start-all"]
    proc = Proc(command, env, tmp_path / "run.log")
    try:
        wait_for((data_dir / "admin.key").exists, 60, "the admin key")
        mine = LocalRedis(data_dir / "redis", int((data_dir / "redis" / "redis.port").read_text()))
        assert mine.port != other.port
        key = (data_dir / "admin.key").read_text().strip()
        headers = {"Authorization": f"Bearer {key}"}
        url = f"http://127.0.0.1:{api_port}/api/v1/realtime/data/latest/SPY"

        def serving() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(url, headers=headers, timeout=5).status_code == 200
            return False

        wait_for(serving, 90, "latest SPY data", interval=0.5)
        pid = mine.pid()
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        proc.process.wait(timeout=60)
        wait_for(lambda: not Path(f"/proc/{pid}").exists(), 30, "this checkout's Redis to stop")
        assert is_listening("127.0.0.1", other.port)
    finally:
        if proc.process.poll() is None:
            proc.kill()
            LocalRedis(data_dir / "redis", 0).stop()  # by its pid file
        proc.handle.close()
    text = (tmp_path / "run.log").read_text()
    assert "Started this checkout's Redis" in text
    assert "Stopping this checkout's Redis" in text
