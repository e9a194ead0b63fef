"""The domain package never pulls in an adapter framework."""

from __future__ import annotations

import json
import subprocess
import sys

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
