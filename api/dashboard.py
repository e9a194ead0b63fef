"""The web dashboard: one page at ``/`` and its assets under ``/static/dashboard/``.

Served by this app, so there is no second server. The page and its assets are public and
hold no data: the page asks for an API key, exchanges it for a short-lived token at
``/api/v1/auth/token`` and loads everything through the authenticated API and WebSocket.
Front-end files live in ``api/static/dashboard`` (plain ES modules, no build step); the
charting library is vendored there from npm by ``scripts/vendor_dashboard.sh``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

ASSETS = Path(__file__).parent / "static" / "dashboard"
# Module scripts must be served as JavaScript; do not leave .mjs to the platform's MIME table.
MIMETYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css"}

bp = Blueprint("dashboard", __name__)


@bp.route("/", methods=["GET"])
def page() -> Response:
    """Serve the dashboard page."""
    return send_from_directory(ASSETS, "index.html", mimetype="text/html")


@bp.route("/static/dashboard/<path:name>", methods=["GET"])
def asset(name: str) -> Response:
    """Serve a script, style sheet or vendored file of the dashboard (404 outside it)."""
    return send_from_directory(ASSETS, name, mimetype=MIMETYPES.get(Path(name).suffix))
