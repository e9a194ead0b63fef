"""Local process management for ``make run``: this checkout's own Redis, then the Procfile.

Without ``REDIS_URL``/``REDIS_HOST``/``REDIS_PORT``, ``make run`` uses a Redis that belongs to
this checkout: its data (AOF) under ``<data dir>/redis``, a generated password in
``<data dir>/redis.password`` (0600) that every process started here is given, and its port
recorded in ``<data dir>/redis/redis.port``. A server found listening is reused only if it
accepts this checkout's password *and* reports this checkout's data directory; anything else
(another clone's server, or one whose data directory was deleted) is left alone and reported,
and this checkout starts its own on the next free port from 6390.

A server that ``make run`` started stops when ``make run`` stops (Ctrl-C), after the other
processes; one started with ``--background`` keeps running until ``wagehood admin redis stop``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click
import redis

from cli.redis_server import (
    EXPLICIT_REDIS,
    LOCAL_REDIS_PORTS,
    LocalRedis,
    is_listening,
    local_server,
    write_private,
)
from wagehood.errors import ConfigError, TemporaryError
from wagehood.settings import Settings


def ensure_redis(settings: Settings, environ: Mapping[str, str]) -> tuple[str, LocalRedis | None]:
    """Return the Redis URL to use and the server started for it (``None``: none started).

    A Redis named by ``REDIS_URL``/``REDIS_HOST``/``REDIS_PORT`` must answer; otherwise this
    checkout's own server is reused or started (module docstring).
    """
    if any(environ.get(name) for name in EXPLICIT_REDIS):
        _check_reachable(settings.redis_url)
        return settings.redis_url, None
    server = local_server(Path(settings.data_dir))
    verdict = whose(server)
    if verdict is None:
        click.echo(f"Using this checkout's Redis, already running on port {server.port}", err=True)
        return server.url, None
    if verdict != "free":
        click.echo(f"Not using the Redis on 127.0.0.1:{server.port}: {verdict}", err=True)
    server.port = _free_port()
    server.start(appendonly=True, maxmemory=settings.redis_max_memory, detach=True)
    write_private(server.directory / "redis.port", f"{server.port}\n")
    click.echo(
        f"Started this checkout's Redis on 127.0.0.1:{server.port} (pid {server.pid()}; data in "
        f"{server.directory}, password in {Path(settings.data_dir) / 'redis.password'})",
        err=True,
    )
    return server.url, server


def whose(server: LocalRedis) -> str | None:
    """Return ``None`` if ``server`` is this checkout's and running, else why it is not."""
    if not is_listening("127.0.0.1", server.port):
        return "free"
    client = redis.Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=2)
    try:
        directory = client.config_get("dir").get("dir")
    except redis.AuthenticationError:
        return "it does not accept this checkout's password (another checkout's server?)"
    except redis.RedisError as error:
        return f"it does not answer as expected ({error})"
    finally:
        client.close()
    if directory != str(server.directory):
        return f"its data directory is {directory}, not this checkout's {server.directory}"
    return None


def _free_port() -> int:
    for port in LOCAL_REDIS_PORTS:
        if not is_listening("127.0.0.1", port):
            return port
    first, last = LOCAL_REDIS_PORTS[0], LOCAL_REDIS_PORTS[-1]
    raise ConfigError(f"ports {first}-{last} are all taken; set REDIS_URL to a Redis to use")


def _check_reachable(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        raise TemporaryError(f"cannot reach Redis at {_redact(url)}: {error}") from error


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def procfile_path() -> Path:
    """Return the Procfile of the installed checkout."""
    path = Path(__file__).resolve().parent.parent / "Procfile"
    if not path.exists():
        raise ConfigError(f"no Procfile at {path}; run from a source checkout")
    return path


def run_procfile(
    env: Mapping[str, str], processes: list[str] | None = None, server: LocalRedis | None = None
) -> NoReturn:
    """Run honcho with the Procfile's processes in the foreground; exit with its status.

    Without a ``server`` to stop afterwards this process becomes honcho (``exec``), so Ctrl-C
    reaches honcho alone. With one, honcho is a child: Ctrl-C (sent to the whole foreground
    group) reaches honcho, this process ignores it, waits for honcho to stop everything, then
    stops the Redis it started. SIGTERM is passed on to honcho.
    """
    bin_dir = str(Path(sys.executable).parent)  # the Procfile's commands live beside python
    path = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    honcho = shutil.which("honcho", path=path) or str(Path(bin_dir) / "honcho")
    if not Path(honcho).exists():
        raise ConfigError("honcho is not installed: pip install 'wagehood[local]'")
    procfile = procfile_path()
    args = [honcho, "start", "-f", str(procfile), "-d", str(procfile.parent), *(processes or [])]
    child_env = {**os.environ, **env, "PATH": path}
    sys.stdout.flush()
    sys.stderr.flush()
    if server is None:
        os.execve(honcho, args, child_env)  # noqa: S606 - fixed argv
    child = subprocess.Popen(args, env=child_env)  # noqa: S603 - fixed argv

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, forward)
    code = child.wait()
    click.echo(f"Stopping this checkout's Redis (pid {server.pid()}) ...", err=True)
    server.stop()
    sys.exit(code)
