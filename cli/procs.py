"""Background processes of ``wagehood admin service``: PID files and logs, stopped by PID.

Each process runs its Procfile line under ``sh -c`` in a new session (so its PID is also its
process group); ``<run dir>/<name>.pid`` holds ``"<pid> <start time>"`` and
``<run dir>/logs/<name>.log`` its output. Stopping signals exactly that recorded group, after
checking the process is still the one started (its start time), so a reused PID is never hit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from cli.errors import EXIT_OTHER, CliError
from cli.local import procfile_path
from cli.process_group import signal_group


def procfile_commands() -> dict[str, str]:
    """Return the Procfile's ``name -> command`` lines, parsed by honcho (as ``make run`` does)."""
    try:
        from honcho.environ import parse_procfile  # noqa: PLC0415 - only local runs need honcho
    except ImportError as error:
        raise CliError(
            "honcho is not installed: pip install 'wagehood[local]'", EXIT_OTHER
        ) from error
    return dict(parse_procfile(procfile_path().read_text()).processes)


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """Return our environment plus ``env``, with this interpreter's scripts first on PATH."""
    merged = {**os.environ, **env}
    merged["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{merged.get('PATH', '')}"
    return merged


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _read(pidfile: Path) -> tuple[int, str] | None:
    try:
        pid_text, started = pidfile.read_text().split()
        return int(pid_text), started
    except (OSError, ValueError):
        return None


def running_pid(run_dir: Path, name: str) -> int | None:
    """Return the PID of ``name`` if the process recorded in its PID file is still alive."""
    record = _read(run_dir / f"{name}.pid")
    if record is None or _start_time(record[0]) != record[1]:
        return None
    return record[0]


def start(run_dir: Path, name: str, command: str, env: Mapping[str, str]) -> int:
    """Start ``command`` in the background as ``name``; return its PID."""
    existing = running_pid(run_dir, name)
    if existing:
        raise CliError(f"{name} is already running (pid {existing})", EXIT_OTHER)
    log = run_dir / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        process = subprocess.Popen(  # noqa: S603 - the Procfile's own line
            ["/bin/sh", "-c", command],
            cwd=procfile_path().parent,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (run_dir / f"{name}.pid").write_text(f"{process.pid} {_start_time(process.pid)}\n")
    return process.pid


def stop(run_dir: Path, name: str, timeout: float = 20.0) -> int | None:
    """Stop ``name``'s process group (TERM, then KILL after ``timeout``); return its PID."""
    pid = running_pid(run_dir, name)
    if pid is not None:
        signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while running_pid(run_dir, name) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.1)
        if running_pid(run_dir, name):
            signal_group(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        (run_dir / f"{name}.pid").unlink()
    return pid


def _reap(pid: int) -> None:
    # The process may be our own child (start-all then stop in one test process).
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
