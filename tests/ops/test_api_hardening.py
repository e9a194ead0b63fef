"""Issue 16's REST findings reproduced against the Procfile's real gunicorn (``system``)."""

from __future__ import annotations

import httpx

from tests.ops.system import System
from wagehood.service import auth

BUDGET_ROUTES = [
    "/realtime/config/watchlist",
    "/realtime/config/indicators",
    "/realtime/config/strategies",
    "/realtime/config/system",
    "/realtime/config/summary",
    "/realtime/monitor/stats",
    "/realtime/alerts/rules",
    "/realtime/alerts/channels",
]


def test_a_5_per_minute_key_gets_5_answers_across_8_routes(system: System) -> None:
    key = auth.create_key(system.store, "tight", "read", rate_limit="5/minute").key
    answers = [system.get(path, key=key) for path in BUDGET_ROUTES * 5]
    codes = [a.status_code for a in answers]
    assert codes == [200] * 5 + [429] * 35, codes
    limited = answers[5]
    assert limited.json()["error"]["type"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 61
    assert limited.headers["X-RateLimit-Limit"] == "5"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    key_id = auth.verify_key(system.store, key).key_id
    counters = list(system.store.client.scan_iter(f"*key:{key_id}*"))
    assert len(counters) == 1, counters
    assert httpx.get(f"{system.url}/api/v1/realtime/monitor/liveness").status_code == 200
