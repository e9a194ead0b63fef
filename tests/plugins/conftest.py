"""Fixtures for plugin tests: a PLUGIN_PATHS directory filled from ``files/`` and the example."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.api.conftest import app, client, keys, store  # noqa: F401 - shared fixtures
from tests.workers.conftest import producer, start_worker  # noqa: F401 - shared fixtures
from wagehood.plugins import guard
from wagehood.plugins.loader import CATALOG

FILES = Path(__file__).parent / "files"
EXAMPLE = Path(__file__).parents[2] / "examples" / "wagehood-donchian" / "src" / "wagehood_donchian"
SOURCES = {
    "misbehaving": FILES / "misbehaving.py",
    "broken_import": FILES / "broken_import.py",
    "future_version": FILES / "future_version.py",
    "donchian_indicator": EXAMPLE / "indicator.py",
    "donchian_strategy": EXAMPLE / "strategy.py",
}


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Return ``use(*names, budget_ms=50, max_failures=5)``: copy files in and load them."""
    directory = tmp_path / "plugins"
    directory.mkdir()

    def use(*names: str, budget_ms: float = 50.0, max_failures: int = 5) -> Path:
        for name in names:
            shutil.copy(SOURCES[name], directory / f"{name}.py")
        CATALOG.configure([str(directory)], budget_ms, max_failures)
        return directory

    yield use
    CATALOG.configure([], 50.0, 5)
    guard.drain()
