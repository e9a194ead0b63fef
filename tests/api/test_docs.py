"""docs/api.md's examples run against a live server; the docs page needs nothing from outside."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import Keys
from tests.processes import ROOT, celery_worker, wait_for

BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)
EXAMPLES = BLOCK.findall((ROOT / "docs" / "api.md").read_text())


def test_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")),
    reason="docs/api.md's examples need curl and jq on PATH",
)
@pytest.mark.usefixtures("seeded")
def test_curl_examples_run(
    live_server: str, keys: Keys, process_env: dict[str, str], tmp_path: Path
) -> None:
    worker = celery_worker(process_env, tmp_path / "worker.log")
    try:
        wait_for(lambda: "ready." in worker.output(), 60, "the worker to be ready")
        env = dict(os.environ) | {"WAGEHOOD_URL": f"http://{live_server}", "KEY": keys.admin}
        env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
        for example in EXAMPLES:
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", example],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, (example, done.stdout[-500:], done.stderr[-500:])
    finally:
        worker.stop()


def test_docs_page_and_assets_are_local(client: FlaskClient) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert b"openapi.json" in page.data
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in ("docs.js", "docs.css"):
        body = client.get(f"/api/v1/docs/{asset}").get_data(as_text=True)
        assert "http://" not in body
        assert "https://" not in body
    assert (
        "//" not in re.sub(r"(src|href)=\"/api", "", page.get_data(as_text=True)).split("<body>")[0]
    )


def test_openapi_lists_full_paths(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/realtime/data/latest/{symbol}",
        "/api/v1/realtime/data/historical/{symbol}",
        "/api/v1/realtime/indicators/{symbol}",
        "/api/v1/realtime/signals/{symbol}",
        "/api/v1/realtime/data/export",
        "/api/v1/realtime/data/export/{export_id}/download",
        "/api/v1/realtime/config/watchlist/add",
        "/api/v1/realtime/config/watchlist/{symbol}",
        "/api/v1/realtime/monitor/health",
        "/api/v1/auth/token",
    ):
        assert path in paths, path
