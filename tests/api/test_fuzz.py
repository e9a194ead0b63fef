"""Property-based fuzz of the whole API from its own OpenAPI document: never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from api import create_app
from tests.api.conftest import Keys
from wagehood.settings import Settings

SLOW_PROBES = "/api/v1/realtime/monitor/(health|alerts)$"  # each pings workers for 0.5 s

# schemathesis gives every operation's item the same node id, and pytest-xdist runs only one
# item per node id: on xdist workers 1 of the 42 operations was fuzzed. make test runs the
# tests marked ``alone`` in one process after the parallel part.
pytestmark = pytest.mark.alone


@pytest.fixture
def fuzzed_app(settings: Settings) -> Flask:
    return create_app(settings.replace(rate_limit_default="1000000/minute"))


# The document does not depend on Redis: load it once from an app that never connects.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", create_app(Settings(redis_url="redis://127.0.0.1:1/0"))
)


@schema.exclude(path_regex=SLOW_PROBES).parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_answers_5xx(
    case: schemathesis.Case, fuzzed_app: Flask, keys: Keys, fresh: str
) -> None:
    response = case.call(app=fuzzed_app, headers=keys.header("admin"))
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
    if response.status_code >= 400:
        assert set(response.json()["error"]) >= {"type", "message"}
