"""Public routes are rate-limited per client address (issue 16: health was open to floods)."""

from __future__ import annotations

from api import create_app
from wagehood.settings import Settings

HEALTH = "/api/v1/realtime/monitor/health"


def test_public_routes_are_limited_per_address_with_retry_after(settings: Settings) -> None:
    client = create_app(settings.replace(rate_limit_public="3/minute")).test_client()
    first = {"REMOTE_ADDR": "127.0.0.2"}
    answers = [client.get(HEALTH, environ_base=first).status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    refused = client.get("/api/v1/realtime/monitor/liveness", environ_base=first)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["type"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    other = client.get(HEALTH, environ_base={"REMOTE_ADDR": "127.0.0.3"})
    assert other.status_code == 200
