"""Feedback on stderr while the user waits: a spinner for the server, bars for long work.

Both draw only when stderr is a terminal, so piped or captured output stays clean.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

FRAMES = "|/-\\"
DELAY = 0.3  # a quick answer shows no spinner at all


def interactive() -> bool:
    """Return whether stderr is a terminal."""
    return sys.stderr.isatty()


@contextmanager
def spinner(label: str) -> Iterator[None]:
    """Show ``label`` with a spinner on stderr while the block runs (terminals only)."""
    if not interactive():
        yield
        return
    done = threading.Event()
    thread = threading.Thread(target=_spin, args=(label, done), daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _spin(label: str, done: threading.Event) -> None:
    if done.wait(DELAY):
        return
    for frame in itertools.cycle(FRAMES):
        click.echo(f"\r{frame} {label}", nl=False, err=True)
        if done.wait(0.1):
            break
    click.echo("\r" + " " * (len(label) + 2) + "\r", nl=False, err=True)
