"""The supervisor the Procfile's worker line runs under restarts a dead worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.processes import wait_for

SUPERVISE = [sys.executable, "-m", "workers.supervise"]


def test_a_child_that_dies_is_restarted_and_sigterm_stops_both(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    child = (
        f"import time; open({str(starts)!r}, 'a').write('x'); time.sleep(0.3); raise SystemExit(3)"
    )
    proc = subprocess.Popen([*SUPERVISE, "--", sys.executable, "-c", child], stderr=subprocess.PIPE)
    try:
        wait_for(lambda: starts.exists() and len(starts.read_text()) >= 2, 20, "a restart")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert b"exited with 3; restarting" in proc.stderr.read()


def test_sigterm_reaches_a_long_running_child(tmp_path: Path) -> None:
    done, ready = tmp_path / "done", tmp_path / "ready"
    # The child says it is ready only once its handler is installed: a SIGTERM sent before
    # that would kill it by the default action and the test would race the interpreter's start.
    child = (
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *a: (open({str(done)!r}, 'w').write('ok'), sys.exit(0)))\n"
        f"open({str(ready)!r}, 'w').write('ready')\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([*SUPERVISE, "--", sys.executable, "-c", child])
    try:
        wait_for(ready.exists, 30, "the child to install its SIGTERM handler")
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert done.read_text() == "ok"
    finally:
        if proc.poll() is None:
            proc.kill()
