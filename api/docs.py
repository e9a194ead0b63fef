"""The interactive API docs page: a small local page rendering ``/api/v1/openapi.json``.

No CDN: the page, its script and style are served from ``api/static/docs``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

ASSETS = Path(__file__).parent / "static" / "docs"

bp = Blueprint("docs", __name__, url_prefix="/api/v1/docs")


@bp.route("", methods=["GET"])
def page() -> Response:
    """Serve the docs page."""
    return send_from_directory(ASSETS, "index.html")


@bp.route("/<any('docs.js', 'docs.css'):name>", methods=["GET"])
def asset(name: str) -> Response:
    """Serve the page's script or style."""
    return send_from_directory(ASSETS, name)
