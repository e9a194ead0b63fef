"""Every ``$ wagehood`` line in docs/cli.md's console blocks runs against the live system."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.cli.conftest import ROOT, Live

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
BLOCK = re.compile(r"```console\n(.*?)```", re.DOTALL)


def examples() -> list[str]:
    lines = [line for block in BLOCK.findall(DOC.read_text()) for line in block.splitlines()]
    return [line.removeprefix("$ ") for line in lines if line.startswith("$ wagehood ")]


def test_docs_document_every_command() -> None:
    text = DOC.read_text()
    for command in ("data latest", "data indicators", "data signals", "data historical",
                    "data stream", "data export", "config watchlist", "config indicators",
                    "config strategies", "config system", "config summary", "config validate",
                    "monitor health", "monitor stats", "monitor alerts", "monitor watch",
                    "admin service start-all", "admin service stop", "admin service status",
                    "admin keys create", "admin keys list", "admin keys revoke",
                    "admin backfill", "admin redis check", "replay", "completion", "--version"):  # fmt: skip
        assert f"wagehood {command}" in text, command


def test_docs_examples_run(live: Live, tmp_path: Path) -> None:
    commands = examples()
    assert len(commands) > 30
    (tmp_path / "tests").symlink_to(ROOT / "tests")  # the examples' relative paths
    for command in commands:
        args = shlex.split(command)[1:]
        result = live.run(*args, cwd=tmp_path)
        assert result.returncode == 0, f"{command}: {result.stderr}"
        assert result.stdout.strip(), command
