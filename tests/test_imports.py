"""The domain package never pulls in an adapter framework."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("celery", "kombu", "flask", "click", "workers", "api", "cli")


def test_domain_imports_no_adapter_framework() -> None:
    code = (
        "import json, sys, pkgutil, importlib, wagehood\n"
        "for m in pkgutil.walk_packages(wagehood.__path__, 'wagehood.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    leaked = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert leaked == []


# The README states this list; the test keeps it exact.
THIRD_PARTY = {
    "redis": ("wagehood/storage/",),
    "httpx": (
        "wagehood/providers/",
        "wagehood/service/delivery.py",
        "wagehood/alerts/transport.py",
    ),
    "httpcore": ("wagehood/alerts/transport.py",),
    "pybreaker": (
        "wagehood/storage/breaker.py",
        "wagehood/service/fetch.py",
        "wagehood/service/warmup.py",
    ),
    "jwt": ("wagehood/service/auth.py",),
}


def test_the_domain_imports_only_the_libraries_the_readme_names_where_it_says() -> None:
    root = Path(__file__).resolve().parent.parent
    found: dict[str, set[str]] = {}
    for path in (root / "wagehood").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module.split(".")[0]]
            for name in set(names) - set(sys.stdlib_module_names) - {"wagehood", "__future__"}:
                found.setdefault(name, set()).add(path.relative_to(root).as_posix())
    assert set(found) == set(THIRD_PARTY)
    for name, places in found.items():
        assert all(p.startswith(THIRD_PARTY[name]) for p in places), (name, places)
    readme = (root / "README.md").read_text()
    named = [place.removeprefix("wagehood/") for places in THIRD_PARTY.values() for place in places]
    assert all(f"`{place}`" in readme for place in named)
