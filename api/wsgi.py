"""The WSGI entry point: ``gunicorn -c api/gunicorn_conf.py api.wsgi:app``."""

from __future__ import annotations

from api import create_app

app = create_app()
