"""Auth and permission matrix, tokens, key management, rate limits, headers and HTTP errors."""

from __future__ import annotations

import time

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from tests.api.conftest import Keys
from wagehood.service import auth
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

READS = [
    "/api/v1/realtime/data/latest/MSFT",
    "/api/v1/realtime/indicators/MSFT",
    "/api/v1/realtime/signals/MSFT",
    "/api/v1/realtime/data/historical/MSFT",
    "/api/v1/realtime/config/watchlist",
    "/api/v1/realtime/config/indicators",
    "/api/v1/realtime/config/strategies",
    "/api/v1/realtime/config/system",
    "/api/v1/realtime/config/summary",
    "/api/v1/realtime/config/validate",
    "/api/v1/realtime/monitor/stats",
    "/api/v1/realtime/monitor/alerts",
    "/api/v1/realtime/data/export/unknown",
]
WRITES = [
    ("put", "/api/v1/realtime/config/watchlist", {"symbols": ["MSFT"]}),
    ("post", "/api/v1/realtime/config/watchlist/add", {"symbol": "MSFT"}),
    ("delete", "/api/v1/realtime/config/watchlist/MSFT", None),
    ("put", "/api/v1/realtime/config/system", {"system": {}}),
    ("post", "/api/v1/realtime/data/export", {"symbols": ["NOPE"]}),
]
PUBLIC = [
    "/api/v1/realtime/monitor/health",
    "/api/v1/realtime/monitor/liveness",
    "/api/v1/realtime/monitor/readiness",
    "/metrics",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/docs/docs.js",
]


def _bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


@pytest.mark.usefixtures("fresh")
def test_every_read_refuses_missing_wrong_and_revoked_keys(client: FlaskClient, keys: Keys) -> None:
    forged = keys.read[:-4] + "AAAA"
    for url in READS:
        assert client.get(url).status_code == 401, url
        assert client.get(url, headers=_bearer(forged)).status_code == 401, url
        assert client.get(url, headers=_bearer("garbage")).status_code == 401, url
        assert client.get(url, headers=_bearer(keys.revoked)).status_code == 401, url
        assert client.get(url, headers=keys.header()).status_code in {200, 404}, url


@pytest.mark.usefixtures("fresh")
def test_writes_need_the_write_permission(client: FlaskClient, keys: Keys) -> None:
    for method, url, body in WRITES:
        denied = getattr(client, method)(url, json=body, headers=keys.header("read"))
        assert denied.status_code == 403, url
        assert denied.get_json()["error"]["type"] == "forbidden"
        assert getattr(client, method)(url, json=body).status_code == 401, url
        allowed = getattr(client, method)(url, json=body, headers=keys.header("write"))
        assert allowed.status_code not in {401, 403}, url


def test_public_routes_need_no_key(client: FlaskClient) -> None:
    for url in PUBLIC:
        assert client.get(url).status_code in {200, 503}, url


def test_token_exchange_and_use(client: FlaskClient, keys: Keys) -> None:
    issued = client.post("/api/v1/auth/token", headers=keys.header("write"))
    body = issued.get_json()
    assert issued.status_code == 200
    assert body["token_type"] == "Bearer"
    token = body["access_token"]
    assert (
        client.get("/api/v1/realtime/config/watchlist", headers=_bearer(token)).status_code == 200
    )
    assert client.post("/api/v1/auth/token", headers=_bearer(token)).status_code == 401


def test_expired_forged_and_revoked_tokens_are_refused(
    client: FlaskClient, keys: Keys, store: RedisStore, settings: Settings
) -> None:
    principal = auth.verify_key(store, keys.read)
    secret = auth.jwt_secret(store, settings)
    expired = jwt.encode({"sub": principal.key_id, "exp": int(time.time()) - 5}, secret, "HS256")
    forged = jwt.encode({"sub": principal.key_id, "exp": int(time.time()) + 60}, "x" * 32, "HS256")
    url = "/api/v1/realtime/config/watchlist"
    assert (
        client.get(url, headers=_bearer(expired)).get_json()["error"]["message"] == "token expired"
    )
    assert client.get(url, headers=_bearer(forged)).status_code == 401
    token = auth.issue_token(store, settings, principal)["access_token"]
    auth.revoke_key(store, principal.key_id)
    assert client.get(url, headers=_bearer(token)).status_code == 401


def test_token_lacks_permissions_its_key_lacks(client: FlaskClient, keys: Keys) -> None:
    token = client.post("/api/v1/auth/token", headers=keys.header("read")).get_json()[
        "access_token"
    ]
    response = client.put(
        "/api/v1/realtime/config/system", json={"system": {}}, headers=_bearer(token)
    )
    assert response.status_code == 403


def test_keys_are_stored_hashed(keys: Keys, raw_redis) -> None:  # type: ignore[no-untyped-def]
    stored = " ".join(raw_redis.hvals("wh:apikeys"))
    assert keys.read not in stored
    # The secret is everything after "wh_<id>_": it may itself contain "_" (split once more and
    # a piece such as "0" is found in any JSON: the test failed when a secret began "0_").
    assert keys.read.split("_", 2)[2] not in stored


def test_admin_manages_keys_others_cannot(client: FlaskClient, keys: Keys) -> None:
    created = client.post(
        "/api/v1/auth/keys",
        json={"name": "ci", "permissions": ["read"]},
        headers=keys.header("admin"),
    )
    assert created.status_code == 201
    new = created.get_json()
    assert (
        client.get("/api/v1/realtime/config/watchlist", headers=_bearer(new["key"])).status_code
        == 200
    )
    listed = client.get("/api/v1/auth/keys", headers=keys.header("admin")).get_json()["keys"]
    assert "key" not in listed[0]
    assert len(listed) == 5
    assert client.get("/api/v1/auth/keys", headers=keys.header("write")).status_code == 403
    assert client.delete(f"/api/v1/auth/keys/{new['id']}", headers=keys.header("admin")).get_json()[
        "revoked"
    ]
    assert (
        client.get("/api/v1/realtime/config/watchlist", headers=_bearer(new["key"])).status_code
        == 401
    )
    assert client.delete("/api/v1/auth/keys/nope", headers=keys.header("admin")).status_code == 404


def test_rate_limit_is_per_key_with_retry_after(settings: Settings, keys: Keys) -> None:
    client = create_app(settings.replace(rate_limit_default="3/minute")).test_client()
    url = "/api/v1/realtime/config/watchlist"
    answers = [client.get(url, headers=keys.header()) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.get_json()["error"]["type"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert answers[0].headers["X-RateLimit-Remaining"] == "2"
    assert client.get(url, headers=keys.header("write")).status_code == 200
    assert client.get("/api/v1/realtime/monitor/liveness").status_code == 200


def test_a_key_can_carry_its_own_limit(settings: Settings, store: RedisStore) -> None:
    client = create_app(settings).test_client()
    key = auth.create_key(store, "tight", "read", rate_limit="1/minute").key
    url = "/api/v1/realtime/config/watchlist"
    assert [client.get(url, headers=_bearer(key)).status_code for _ in range(2)] == [200, 429]


def test_security_headers_and_no_cors_for_unknown_origins(app: Flask, keys: Keys) -> None:
    client = app.test_client()
    response = client.get(
        "/api/v1/realtime/config/watchlist",
        headers=keys.header() | {"Origin": "https://evil.example"},
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_only_for_configured_origins(settings: Settings, keys: Keys) -> None:
    client = create_app(settings.replace(cors_origins="https://app.example")).test_client()
    response = client.get(
        "/api/v1/realtime/config/watchlist",
        headers=keys.header() | {"Origin": "https://app.example"},
    )
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Access-Control-Allow-Credentials" not in response.headers
    preflight = client.options(
        "/api/v1/realtime/config/watchlist", headers={"Origin": "https://app.example"}
    )
    assert preflight.status_code == 200
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_http_errors_are_json(client: FlaskClient, keys: Keys) -> None:
    not_allowed = client.delete("/api/v1/realtime/config/summary", headers=keys.header("admin"))
    assert not_allowed.status_code == 405
    assert not_allowed.get_json()["error"]["type"] == "method_not_allowed"
    huge = client.post(
        "/api/v1/realtime/config/watchlist/add",
        data="x" * (2 * 1024 * 1024),
        headers=keys.header("write"),
    )
    assert huge.status_code == 413
    assert huge.get_json()["error"]["type"] == "payload_too_large"
    deep = client.post(
        "/api/v1/realtime/config/watchlist/add",
        data="[" * 100_000 + "]" * 100_000,
        headers=keys.header("write") | {"Content-Type": "application/json"},
    )
    assert deep.status_code in {400, 422}
    assert "error" in deep.get_json()
    assert client.get("/nothing/here").get_json()["error"]["type"] == "not_found"


def test_redis_down_is_503_json(settings: Settings) -> None:
    down = settings.replace(redis_url="redis://127.0.0.1:1/0")
    client = create_app(down).test_client()
    response = client.get(
        "/api/v1/realtime/config/watchlist", headers=_bearer("wh_0123456789abcdef_x")
    )
    assert response.status_code == 503
    assert response.get_json()["error"]["type"] == "temporarily_unavailable"
    assert "127.0.0.1" not in response.get_data(as_text=True)  # Redis's address stays private
    health = client.get("/api/v1/realtime/monitor/health")
    assert health.status_code == 503
    assert health.get_json()["status"] == "down"
    assert health.get_json()["cause"] == "Redis unreachable"
    assert "127.0.0.1" not in health.get_data(as_text=True)
    assert client.get("/api/v1/realtime/monitor/readiness").status_code == 503
    assert client.get("/api/v1/realtime/monitor/liveness").status_code == 200


def test_unexpected_error_is_500_json_without_traceback(settings: Settings, keys: Keys) -> None:
    app = create_app(settings)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/api/v1/boom", headers=keys.header())
    assert response.status_code == 500
    assert response.get_json() == {
        "error": {"type": "internal_error", "message": "internal server error"}
    }


def test_several_limits_count_together_and_the_breached_one_is_shown(
    settings: Settings, store: RedisStore
) -> None:
    client = create_app(settings).test_client()
    key = auth.create_key(store, "two", "read", rate_limit="2/minute;100/hour").key
    url = "/api/v1/realtime/config/watchlist"
    answers = [client.get(url, headers=_bearer(key)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "2"
    assert answers[1].headers["X-RateLimit-Remaining"] == "0"
    assert 0 < int(answers[2].headers["Retry-After"]) <= 61


def test_one_budget_per_key_across_every_route(settings: Settings, store: RedisStore) -> None:
    client = create_app(settings).test_client()
    key = auth.create_key(store, "tight", "read", rate_limit="5/minute").key
    routes = [
        "/api/v1/realtime/config/watchlist",
        "/api/v1/realtime/config/indicators",
        "/api/v1/realtime/config/strategies",
        "/api/v1/realtime/config/system",
        "/api/v1/realtime/config/summary",
        "/api/v1/realtime/monitor/stats",
        "/api/v1/realtime/alerts/rules",
        "/api/v1/realtime/alerts/channels",
    ]
    answers = [client.get(url, headers=_bearer(key)) for url in routes]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 3
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    assert all(a.headers["X-RateLimit-Limit"] == "5" for a in answers)
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 61
    counters = [k for k in store.client.scan_iter("*") if "5/1/minute" in k]
    assert len(counters) == 1, counters
    assert counters[0].endswith(f"key:{key.split('_')[1]}/budget/5/1/minute"), counters
