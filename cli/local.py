"""Local process management for ``make run``: ensure a Redis, then run the Procfile."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import click
import redis

from wagehood.errors import ConfigError, TemporaryError
from wagehood.settings import Settings
from wagehood.storage.server import LocalRedis, is_listening

LOCAL_REDIS_PORT = 6390
EXPLICIT_REDIS = ("REDIS_URL", "REDIS_HOST", "REDIS_PORT")


def ensure_redis(settings: Settings, environ: Mapping[str, str]) -> str:
    """Return the Redis URL to use, starting a local server when none was configured.

    A Redis named by ``REDIS_URL``/``REDIS_HOST``/``REDIS_PORT`` must answer; otherwise a
    server with AOF persistence is started (or reused) under ``<data dir>/redis`` on
    127.0.0.1:6390, so the user's own Redis database is never written to by accident.
    """
    if any(environ.get(name) for name in EXPLICIT_REDIS):
        _check_reachable(settings.redis_url)
        return settings.redis_url
    server = LocalRedis(Path(settings.data_dir) / "redis", LOCAL_REDIS_PORT)
    if is_listening("127.0.0.1", LOCAL_REDIS_PORT):
        click.echo(f"Using the local Redis already running at {server.url}", err=True)
        return server.url
    server.start(appendonly=True, maxmemory=settings.redis_max_memory, daemonize=True)
    click.echo(
        f"Started a local Redis at {server.url} (data and AOF in {server.directory}, "
        f"pid {server.pid()}); stop it with: wagehood admin redis stop",
        err=True,
    )
    return server.url


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


def run_procfile(env: Mapping[str, str], processes: list[str] | None = None) -> NoReturn:
    """Replace this process with honcho running the Procfile's processes in the foreground.

    ``exec`` rather than a child: Ctrl-C then reaches honcho alone, which stops every process
    it started, instead of killing a Python parent and orphaning them.
    """
    bin_dir = str(Path(sys.executable).parent)  # the Procfile's commands live beside python
    path = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    honcho = shutil.which("honcho", path=path) or str(Path(bin_dir) / "honcho")
    procfile = procfile_path()
    args = [honcho, "start", "-f", str(procfile), "-d", str(procfile.parent), *(processes or [])]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(honcho, args, {**os.environ, **env, "PATH": path})  # noqa: S606 - fixed argv
