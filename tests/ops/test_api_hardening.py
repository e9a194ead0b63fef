"""Issue 16's REST findings reproduced against the Procfile's real gunicorn (``system``)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import jwt

from tests.ops.system import System
from wagehood.service import auth
from wagehood.storage import keys as redis_keys

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


def test_read_access_to_redis_gives_no_token_secret(system: System) -> None:
    issued = httpx.post(
        f"{system.url}/api/v1/auth/token",
        headers={"Authorization": f"Bearer {system.key}"},
        timeout=10,
    )
    assert system.get("/auth/keys", key=issued.json()["access_token"]).status_code == 200
    assert system.store.client.get(redis_keys.JWT_SECRET) is None
    secret_file = Path(system.env["WAGEHOOD_DATA_DIR"]) / auth.SECRET_FILE
    assert secret_file.stat().st_mode & 0o777 == 0o600
    key_id = auth.verify_key(system.store, system.key).key_id
    now = int(time.time())
    long_lived = {"sub": key_id, "iat": now, "exp": now + 31 * 365 * 86400, "typ": "access"}
    forged = jwt.encode(long_lived, secret_file.read_text().strip(), "HS256")
    assert system.get("/auth/keys", key=forged).status_code == 401
    system.store.client.set(redis_keys.JWT_SECRET, "planted" * 10)
    planted = jwt.encode(long_lived | {"exp": now + 60}, "planted" * 10, "HS256")
    assert system.get("/auth/keys", key=planted).status_code == 401
