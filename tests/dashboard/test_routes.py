"""The dashboard's routes without a browser: public page and assets, strict CSP, no CDN."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from api import create_app
from api.dashboard import ASSETS
from wagehood.settings import Settings

VENDORED = "vendor/lightweight-charts.standalone.production.mjs"
# What would load from elsewhere: src=, <link href=, CSS url(), module imports (links are fine).
EXTERNAL = re.compile(
    r"""(?:\bsrc\s*=|<link[^>]*\bhref\s*=|\burl\(|\bimport\b|\bfrom)\s*["']?(?:https?:)?//"""
)


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    """Flask's test client of the real application."""
    return create_app(settings).test_client()


def test_page_is_public_with_a_strict_csp(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "form-action 'none'" in csp


def test_page_has_no_inline_script_or_style(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [
        ("js/app.js", "text/javascript"),
        ("dashboard.css", "text/css"),
        (VENDORED, "text/javascript"),
    ],
)
def test_assets_are_public_with_their_types(client: FlaskClient, name: str, mimetype: str) -> None:
    response = client.get(f"/static/dashboard/{name}")
    assert response.status_code == 200
    assert response.mimetype == mimetype


def test_nothing_is_loaded_from_another_origin() -> None:
    for path in [ASSETS / "index.html", *ASSETS.glob("js/*.js"), ASSETS / "dashboard.css"]:
        assert not EXTERNAL.search(path.read_text()), path
    text = (ASSETS / VENDORED).read_text()
    assert not re.search(r"\bimport\s*[\"'{(]|\bfrom\s*[\"']", text), (
        "vendored build imports nothing"
    )


def test_vendored_library_names_its_version_origin_and_license() -> None:
    readme = (ASSETS / "vendor" / "README.md").read_text()
    version = re.search(r"^Version: (\S+)$", readme, re.MULTILINE)
    assert version is not None
    assert f"v{version.group(1)}" in (ASSETS / VENDORED).read_text()[:300]
    assert "npm pack lightweight-charts@" in readme
    assert "Apache License" in (ASSETS / "vendor" / "LICENSE").read_text()


def test_paths_outside_the_dashboard_are_not_served(client: FlaskClient) -> None:
    assert client.get("/static/dashboard/../dashboard.py").status_code == 404
    assert client.get("/static/dashboard/%2e%2e/dashboard.py").status_code == 404
    assert client.get("/static/dashboard/missing.js").status_code == 404


def test_data_stays_behind_authentication(client: FlaskClient) -> None:
    assert client.get("/api/v1/realtime/config/watchlist").status_code == 401
    assert client.get("/api/v1/realtime/monitor/stats").status_code == 401
