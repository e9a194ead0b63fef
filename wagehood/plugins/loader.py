"""Finding plugins: entry points and ``PLUGIN_PATHS`` files, checked and kept in one catalog.

Two sources, loaded the same way:

- installed packages that declare entry points in the groups ``wagehood.strategies`` and
  ``wagehood.indicators`` (read once per process: installing a package needs a restart);
- ``.py`` files in the directories of ``PLUGIN_PATHS``, re-read whenever ``configure`` runs
  and a file was added, removed or changed (``load_config`` runs it on every config change).

A plugin is a class with ``interface_version``; one built for another interface version is
refused, one that fails to import is recorded as failed: neither stops the process.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from wagehood.indicators import registry as indicator_registry
from wagehood.plugins import guard
from wagehood.settings import Settings
from wagehood.strategies import registry as strategy_registry
from wagehood.strategies.base import INTERFACE_VERSION

logger = logging.getLogger(__name__)

GROUPS = {"strategy": "wagehood.strategies", "indicator": "wagehood.indicators"}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_STRATEGY_NEEDS = ("indicators", "lookback", "evaluate")
_INDICATOR_NEEDS = ("source", "outputs", "parameters", "warmup", "update", "to_state", "from_state")


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as found: where from, and whether it is usable (``status == "loaded"``)."""

    name: str
    kind: str  # "strategy" | "indicator"
    package: str
    version: str
    interface: int | None
    status: str  # "loaded" | "refused" | "failed" | "disabled"
    origin: str
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "name": self.name,
            "kind": self.kind,
            "package": self.package,
            "version": self.version,
            "interface": self.interface,
            "status": self.status,
            "origin": self.origin,
            "error": self.error,
        }


@dataclass
class _Source:
    infos: list[PluginInfo]
    classes: dict[str, dict[str, type[Any]]]  # kind -> name -> guarded class


class Catalog:
    """The plugins of this process, from entry points and from ``PLUGIN_PATHS``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry_points: _Source | None = None
        self._paths: tuple[str, ...] = ()
        self._stamp: tuple[tuple[str, int, int], ...] = ()
        self._files = _Source([], {"strategy": {}, "indicator": {}})

    def configure(self, paths: Sequence[str], budget_ms: float, max_failures: int) -> None:
        """Set the guard policy, re-enable tripped plugins, re-read changed ``paths`` files.

        Runs on every configuration change (``load_config``).
        """
        guard.POLICY.budget = budget_ms / 1000.0
        guard.POLICY.max_failures = max_failures
        guard.reset()
        self._packages()  # installed packages are imported (and their failures logged) now
        stamp = _stamp(paths)
        with self._lock:
            if tuple(paths) == self._paths and stamp == self._stamp:
                return
            self._paths, self._stamp = tuple(paths), stamp
            self._files = _load_files(stamp)
        indicator_registry.forget_built_specs()  # a re-read file gives new classes

    def classes(self, kind: str) -> dict[str, type[Any]]:
        """Return the usable plugin classes of ``kind`` by name (files win over packages)."""
        return {**self._packages().classes[kind], **self._files.classes[kind]}

    def infos(self) -> list[PluginInfo]:
        """Return every plugin found, usable or not, by kind and name."""
        found = [*self._packages().infos, *self._files.infos]
        found = [replace(info, status="disabled") if _tripped(info) else info for info in found]
        return sorted(found, key=lambda info: (info.kind, info.name, info.origin))

    def _packages(self) -> _Source:
        with self._lock:
            if self._entry_points is None:
                self._entry_points = _load_entry_points()
            return self._entry_points


CATALOG = Catalog()
# The registries list the catalog's plugins next to their built-ins; they do not import us.
indicator_registry.use_plugins(lambda: CATALOG.classes("indicator"))
strategy_registry.use_plugins(lambda: CATALOG.classes("strategy"))


def configure(settings: Settings) -> None:
    """Apply the plugin settings to the catalog and re-read changed ``PLUGIN_PATHS`` files."""
    CATALOG.configure(
        settings.plugin_paths, settings.plugin_time_budget_ms, settings.plugin_max_failures
    )


def _tripped(info: PluginInfo) -> bool:
    return info.status == "loaded" and info.name in guard.disabled(info.kind)


def _load_entry_points() -> _Source:
    source = _Source([], {"strategy": {}, "indicator": {}})
    for kind, group in GROUPS.items():
        for point in entry_points(group=group):
            _admit(source, kind, (point.name, point.value), _dist(point), lambda p=point: p.load())
    return source


def _dist(point: EntryPoint) -> tuple[str, str]:
    dist = point.dist
    return (dist.name, dist.version) if dist is not None else ("?", "?")


def _stamp(paths: Iterable[str]) -> tuple[tuple[str, int, int], ...]:
    files = []
    for directory in paths:
        for path in sorted(Path(directory).glob("*.py")):
            stat = path.stat()
            files.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(files)


def _load_files(stamp: tuple[tuple[str, int, int], ...]) -> _Source:
    source = _Source([], {"strategy": {}, "indicator": {}})
    for path, _, _ in stamp:
        try:
            module = _import_file(Path(path))
        except Exception as error:
            _failed(source, Path(path).name, path, ("file", "-"), error)
            continue
        for cls in _plugin_classes(module):
            kind = "strategy" if hasattr(cls, "evaluate") else "indicator"
            origin = f"{path}:{cls.__name__}"
            _admit(source, kind, (cls.__name__, origin), ("file", "-"), lambda c=cls: c)
    return source


def _import_file(path: Path) -> Any:
    name = f"wagehood_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _plugin_classes(module: Any) -> list[type[Any]]:
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and value.__module__ == module.__name__
        and not value.__name__.startswith("_")
        and hasattr(value, "interface_version")
    ]


def _admit(
    source: _Source, kind: str, where: tuple[str, str], dist: tuple[str, str], load: Any
) -> None:
    # ``where`` is (label, origin): the label names the plugin until its class (and its
    # ``name``) is known. Any exception from plugin code is reported, never fatal.
    label, origin = where
    try:
        cls = load()
    except Exception as error:
        _failed(source, label, origin, dist, error)
        return
    name = str(getattr(cls, "name", label))
    interface = getattr(cls, "interface_version", None)
    problem = check_class(cls, kind)
    status = "refused" if problem else "loaded"
    if not problem and name in source.classes[kind]:
        status, problem = "refused", f"{kind} {name!r} is already provided by another plugin"
    info = PluginInfo(name, kind, dist[0], dist[1], _int_or_none(interface), status, origin)
    if problem:
        logger.error("plugin %s %r refused: %s", kind, name, problem)
        info = replace(info, error=problem)
    else:
        source.classes[kind][name] = guard.wrap(cls, kind)
    source.infos.append(info)


def _failed(
    source: _Source, name: str, origin: str, dist: tuple[str, str], error: Exception
) -> None:
    text = f"{type(error).__name__}: {error}"
    logger.error("plugin %r from %s failed to load: %s", name, origin, text)
    source.infos.append(PluginInfo(name, "?", dist[0], dist[1], None, "failed", origin, text))


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_class(cls: object, kind: str) -> str:
    """Return why ``cls`` cannot be a ``kind`` plugin of this interface, or ``""``."""
    if not inspect.isclass(cls):
        return f"entry point gives {type(cls).__name__}, not a class"
    version = getattr(cls, "interface_version", None)
    if version != INTERFACE_VERSION:
        return (
            f"built for wagehood plugin interface {version!r}; this wagehood provides "
            f"interface {INTERFACE_VERSION} (update the plugin or wagehood)"
        )
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        return f"name must be a lowercase identifier of at most 40 characters, was {name!r}"
    if name in _builtin_names(kind):
        return f"name {name!r} is a built-in {kind}"
    needs = _STRATEGY_NEEDS if kind == "strategy" else _INDICATOR_NEEDS
    missing = [attribute for attribute in needs if not hasattr(cls, attribute)]
    return f"missing {', '.join(missing)}" if missing else ""


def _builtin_names(kind: str) -> set[str]:
    if kind == "strategy":
        return set(strategy_registry.STRATEGIES)
    return set(indicator_registry.INDICATORS)
