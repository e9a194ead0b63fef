"""Issue 16's REST and auth findings, through the Flask test client on a real Redis."""

from __future__ import annotations

import csv
import inspect
import io
import json
import os
import stat
import time
from pathlib import Path

import jwt
import limits
import pytest
from flask.testing import FlaskClient

from api import create_app
from cli.keys import ensure_admin_key
from wagehood.errors import ConfigError, ValidationError
from wagehood.service import auth, exports
from wagehood.settings import Settings
from wagehood.storage import keys as redis_keys
from wagehood.storage.redis_store import RedisStore

KEYS_URL = "/api/v1/auth/keys"
WATCHLIST = "/api/v1/realtime/config/watchlist"


def _bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# Finding 8: the JWT secret is not in Redis; token lifetime is capped; typ is checked.


def test_the_generated_jwt_secret_is_a_0600_file_never_in_redis(
    settings: Settings, store: RedisStore, client: FlaskClient
) -> None:
    admin = auth.create_key(store, "admin", "admin").key
    token = client.post("/api/v1/auth/token", headers=_bearer(admin)).get_json()["access_token"]
    assert client.get(KEYS_URL, headers=_bearer(token)).status_code == 200
    path = Path(settings.data_dir) / auth.SECRET_FILE
    secret = path.read_text().strip()
    assert _mode(path) == 0o600
    assert len(secret) == 64
    assert store.client.exists(redis_keys.JWT_SECRET) == 0
    for name in store.client.scan_iter("*"):
        assert secret.encode() not in (store.client.dump(name) or b""), name


def test_a_secret_left_in_redis_by_an_earlier_version_is_deleted_and_never_trusted(
    settings: Settings, store: RedisStore
) -> None:
    admin = auth.create_key(store, "admin", "admin")
    store.client.set(redis_keys.JWT_SECRET, "r" * 64)
    now = int(time.time())
    claims = {"sub": admin.principal.key_id, "iat": now, "exp": now + 60, "typ": "access"}
    forged = jwt.encode(claims, "r" * 64, "HS256")
    client = create_app(settings).test_client()
    assert client.get(KEYS_URL, headers=_bearer(forged)).status_code == 401
    assert store.client.exists(redis_keys.JWT_SECRET) == 0
    token = client.post("/api/v1/auth/token", headers=_bearer(admin.key)).get_json()
    assert client.get(KEYS_URL, headers=_bearer(token["access_token"])).status_code == 200


@pytest.mark.parametrize(
    ("lifetime", "extra", "status"),
    [
        (900, {}, 200),
        (31 * 365 * 86400, {}, 401),
        (901, {}, 401),
        (60, {"typ": "refresh"}, 401),
        (60, {"typ": None}, 401),
        (60, {"iat": None}, 401),
    ],
)
def test_token_lifetime_is_capped_at_jwt_ttl_and_typ_is_checked(
    settings: Settings,
    store: RedisStore,
    lifetime: int,
    extra: dict[str, object],
    status: int,
) -> None:
    principal = auth.create_key(store, "admin", "admin").principal
    now = int(time.time())
    claims = {"sub": principal.key_id, "iat": now, "exp": now + lifetime, "typ": "access"}
    claims = {k: v for k, v in (claims | extra).items() if v is not None}
    token = jwt.encode(claims, auth.jwt_secret(store, settings), "HS256")
    client = create_app(settings).test_client()
    assert client.get(KEYS_URL, headers=_bearer(token)).status_code == status


def test_a_world_readable_secret_file_is_refused(settings: Settings, store: RedisStore) -> None:
    path = Path(settings.data_dir) / auth.SECRET_FILE
    path.parent.mkdir(parents=True)
    path.write_text("s" * 64)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        auth.jwt_secret(store, settings)


# Finding 18: JWT_SECRET strength.


def test_jwt_secret_needs_at_least_32_bytes() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET: must be at least 32 bytes, was 31"):
        Settings.from_env({"JWT_SECRET": "x" * 31})
    assert Settings.from_env({"JWT_SECRET": "x" * 32}).jwt_secret == "x" * 32
    assert Settings.from_env({"JWT_SECRET": ""}).jwt_secret == ""


# Finding 21 (last part): admin.key is private from its creation on.


def test_admin_key_file_is_created_0600_even_with_a_permissive_umask(
    settings: Settings, store: RedisStore
) -> None:
    path = Path(settings.data_dir) / "admin.key"
    path.parent.mkdir(parents=True)
    path.write_text("stale\n")
    path.chmod(0o644)
    old = os.umask(0)
    try:
        key = ensure_admin_key(store, settings)
    finally:
        os.umask(old)
    assert key is not None
    assert path.read_text() == key + "\n"
    assert _mode(path) == 0o600
    source = inspect.getsource(auth.write_private)
    assert "O_EXCL" in source
    assert "0o600" in source
    assert "chmod" not in inspect.getsource(ensure_admin_key)


# Finding 9: a lockout by address does not lock out valid keys; a documented proxy setting.


def test_failed_logins_from_an_address_do_not_lock_out_its_valid_keys(
    settings: Settings, store: RedisStore
) -> None:
    client = create_app(settings, AUTH_FAILURE_LIMIT=3).test_client()
    reader = auth.create_key(store, "r", "read")
    wrong_secret = reader.key[:-4] + "abcd"
    codes = [client.get(WATCHLIST, headers=_bearer(wrong_secret)).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    assert client.get(WATCHLIST).status_code == 429  # no credential at all: still locked
    assert client.get(WATCHLIST, headers=_bearer(reader.key)).status_code == 200
    token = client.post("/api/v1/auth/token", headers=_bearer(reader.key)).get_json()
    assert client.get(WATCHLIST, headers=_bearer(token["access_token"])).status_code == 200


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(
    settings: Settings, store: RedisStore
) -> None:
    direct = create_app(settings, AUTH_FAILURE_LIMIT=2).test_client()
    for spoofed in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        direct.get(WATCHLIST, headers=_bearer("wh_bad") | {"X-Forwarded-For": spoofed})
    assert direct.get(WATCHLIST, headers=_bearer("wh_bad")).status_code == 429
    store.client.flushdb()
    behind = create_app(settings.replace(trusted_proxies=1), AUTH_FAILURE_LIMIT=2).test_client()
    one = {"X-Forwarded-For": "198.51.100.1"}
    other = {"X-Forwarded-For": "203.0.113.9, 198.51.100.2"}  # the proxy appended the client
    assert [
        behind.get(WATCHLIST, headers=_bearer("wh_bad") | one).status_code for _ in range(3)
    ] == [401, 401, 429]
    assert behind.get(WATCHLIST, headers=_bearer("wh_bad") | other).status_code == 401
    assert store.client.exists(f"{redis_keys.AUTH_FAILURES}:198.51.100.2") == 1


def test_trusted_proxies_is_a_documented_setting() -> None:
    assert Settings.from_env({"TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        Settings.from_env({"TRUSTED_PROXIES": "-1"})


# Findings 20 and 16: exports belong to their creator and have quotas.

EXPORT = "/api/v1/realtime/data/export"


def _export(client: FlaskClient, store: RedisStore, key: str, symbol: str) -> dict[str, object]:
    created = client.post(EXPORT, json={"symbols": [symbol]}, headers=_bearer(key))
    assert created.status_code == 202, created.get_json()
    export_id = created.get_json()["id"]
    exports.run(store, export_id)  # what the worker's thin task does
    status: dict[str, object] = client.get(f"{EXPORT}/{export_id}", headers=_bearer(key)).get_json()
    return status


def test_only_the_creating_key_or_an_admin_sees_an_export(
    client: FlaskClient, store: RedisStore, seeded: str
) -> None:
    owner = auth.create_key(store, "owner", "read,write").key
    other = auth.create_key(store, "other", "read,write").key
    reader = auth.create_key(store, "reader", "read").key
    admin = auth.create_key(store, "admin", "admin").key
    done = _export(client, store, owner, seeded)
    assert done["status"] == "done"
    status_url, download_url = f"{EXPORT}/{done['id']}", str(done["download"])
    for stranger in (other, reader):
        assert client.get(status_url, headers=_bearer(stranger)).status_code == 404
        assert client.get(download_url, headers=_bearer(stranger)).status_code == 404
    owner_token = client.post("/api/v1/auth/token", headers=_bearer(owner)).get_json()
    for allowed in (owner, owner_token["access_token"], admin):
        answer = client.get(download_url, headers=_bearer(allowed))
        assert answer.status_code == 200
        assert json.loads(answer.get_data())["results"][0]["symbol"] == seeded


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"export_max_rows": 10}, "rows, over the limit of 10"),
        ({"export_max_bytes": 1000}, "bytes, over the limit of 1000"),
    ],
)
def test_an_export_over_a_cap_fails_and_keeps_no_file(
    settings: Settings, store: RedisStore, seeded: str, setting: dict[str, int], message: str
) -> None:
    client = create_app(settings.replace(**setting)).test_client()
    writer = auth.create_key(store, "w", "read,write").key
    failed = _export(client, store, writer, seeded)
    assert failed["status"] == "failed"
    assert message in str(failed["error"])
    assert store.client.exists(redis_keys.export_file(str(failed["id"]))) == 0


def test_a_key_that_used_its_export_quota_is_refused_until_the_window_ends(
    settings: Settings, store: RedisStore, seeded: str
) -> None:
    probe = auth.create_key(store, "probe", "read,write").key
    rows = _export(create_app(settings).test_client(), store, probe, seeded)["rows"]
    assert isinstance(rows, int)
    assert rows > 100
    client = create_app(settings.replace(export_key_rows=rows + 50)).test_client()
    writer = auth.create_key(store, "w", "read,write").key
    assert _export(client, store, writer, seeded)["status"] == "done"
    over = _export(client, store, writer, seeded)
    assert over["status"] == "failed"
    assert "quota" in str(over["error"])
    usage = redis_keys.export_usage(auth.verify_key(store, writer).key_id)
    assert int(store.client.hget(usage, "rows") or 0) == rows  # the failed one is not counted
    assert 0 < store.client.ttl(usage) <= 86400
    tight = create_app(settings.replace(export_key_rows=rows)).test_client()
    blocked = tight.post(EXPORT, json={"symbols": [seeded]}, headers=_bearer(writer))
    assert blocked.status_code == 429
    assert blocked.get_json()["error"]["type"] == "quota_exceeded"
    assert 86000 < int(blocked.headers["Retry-After"]) <= 86400
    other = auth.create_key(store, "other", "read,write").key
    assert tight.post(EXPORT, json={"symbols": [seeded]}, headers=_bearer(other)).status_code == 202


# Finding 10: a JSON integer over Python's 4,300-digit limit.


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/realtime/config/watchlist/add"),
        ("put", "/api/v1/realtime/config/system"),
        ("post", "/api/v1/auth/keys"),
        ("post", EXPORT),
    ],
)
def test_a_json_integer_of_5000_digits_is_a_400(
    client: FlaskClient, store: RedisStore, method: str, path: str
) -> None:
    admin = auth.create_key(store, "admin", "admin").key
    body = b'{"symbol": "AAPL", "system": {"min_confidence": ' + b"9" * 5000 + b"}}"
    answer = client.open(
        path,
        method=method,
        data=body,
        headers=_bearer(admin) | {"Content-Type": "application/json"},
    )
    assert answer.status_code in {400, 422}, answer.get_data()[:300]
    assert answer.get_json()["error"]["type"] in {"bad_request", "validation_error"}


# Finding 11: a key's own rate limit is validated when the key is created.

VALID_LIMITS = ["120/minute", "2/second;100/hour", "10 per 5 minutes", "1/day, 5/month", "7/HOUR"]


@pytest.mark.parametrize(
    "bad", ["garbage", "1;2", "0/minute", "5/fortnight", "/minute", "5/minute;", ""]
)
def test_an_invalid_rate_limit_is_refused_at_key_creation(
    client: FlaskClient, store: RedisStore, bad: str
) -> None:
    admin = auth.create_key(store, "admin", "admin").key
    body = {"name": "k", "permissions": ["read"], "rate_limit": bad}
    answer = client.post(KEYS_URL, json=body, headers=_bearer(admin))
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == "rate_limit"
    with pytest.raises(ValidationError):
        auth.create_key(store, "cli", "read", rate_limit=bad)
    assert [p.name for p in auth.list_keys(store)] == ["admin"]


@pytest.mark.parametrize("good", VALID_LIMITS)
def test_every_accepted_rate_limit_is_one_flask_limiter_enforces(good: str) -> None:
    assert auth.parse_rate_limit(good) == good
    assert limits.parse_many(good)


def test_a_key_stored_with_an_invalid_limit_by_an_old_version_gets_the_default(
    settings: Settings, store: RedisStore
) -> None:
    key = auth.create_key(store, "old", "read")
    record = json.loads(store.client.hget(redis_keys.API_KEYS, key.principal.key_id) or "{}")
    store.client.hset(
        redis_keys.API_KEYS, key.principal.key_id, json.dumps(record | {"rate_limit": "1;2"})
    )
    client = create_app(settings.replace(rate_limit_default="2/minute")).test_client()
    codes = [client.get(WATCHLIST, headers=_bearer(key.key)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


# Finding 17: indicator specs are range-checked and bar field names are reserved.

INDICATORS_URL = "/api/v1/realtime/config/indicators"


@pytest.mark.parametrize(
    ("indicators", "message"),
    [
        ({"big": "sma(1000000000)"}, "period must be at most 1000, was 1e+09"),
        ({"wide": "bbands(20,1e308)"}, "nbdev must be at most 10, was 1e+308"),
        ({"neg": "bbands(20,-2)"}, "nbdev must be a finite number > 0"),
        ({"slow": "macd(12,5000,9)"}, "slow must be at most 1000, was 5000"),
        ({"close": "sma(20)"}, "'close' is reserved"),
        ({"Volume": "ema(5)"}, "'Volume' is reserved"),
        ({"time": "rsi(14)"}, "'time' is reserved"),
    ],
)
def test_out_of_range_specs_and_bar_field_names_are_refused(
    client: FlaskClient, store: RedisStore, indicators: dict[str, str], message: str
) -> None:
    admin = auth.create_key(store, "admin", "admin").key
    before = client.get(INDICATORS_URL, headers=_bearer(admin)).get_json()
    body = {"indicators": {"sma_20": "sma(20)", **indicators}}
    answer = client.put(INDICATORS_URL, json=body, headers=_bearer(admin))
    assert answer.status_code == 422, answer.get_json()
    assert message in answer.get_json()["error"]["message"]
    assert client.get(INDICATORS_URL, headers=_bearer(admin)).get_json() == before


def test_the_largest_allowed_specs_are_accepted(client: FlaskClient, store: RedisStore) -> None:
    admin = auth.create_key(store, "admin", "admin").key
    body = {"indicators": {"long": "sma(1000)", "wide": "bbands(1000,10)", "closing": "ema(9)"}}
    answer = client.put(INDICATORS_URL, json=body, headers=_bearer(admin))
    assert answer.status_code == 200, answer.get_json()


# Finding 14: rule and channel names are matched whole (no trailing newline).

ALERTS = "/api/v1/realtime/alerts"


@pytest.mark.parametrize("name", ["dip\n", "dip\r\n", "dip\nx", "\ndip", "dip "])
def test_rule_and_channel_names_with_a_newline_are_refused(
    settings: Settings, store: RedisStore, name: str
) -> None:
    client = create_app(settings.replace(webhook_allow_private=True)).test_client()
    writer = _bearer(auth.create_key(store, "w", "read,write").key)
    rule = {"name": name, "condition": "rsi_14 < 30"}
    channel = {"name": name, "url": "http://127.0.0.1:9/hook"}
    for kind, body in (("rules", rule), ("channels", channel)):
        answer = client.post(f"{ALERTS}/{kind}", json=body, headers=writer)
        assert answer.status_code == 422, (kind, answer.get_json())
        assert answer.get_json()["error"]["field"] == "name"
    assert client.get(f"{ALERTS}/rules", headers=writer).get_json()["count"] == 0
    assert client.get(f"{ALERTS}/channels", headers=writer).get_json()["count"] == 0


# Finding 15: CSV exports neutralise cells a spreadsheet would run as formulas.


@pytest.mark.parametrize(
    "reason",
    ['=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"],
)
def test_csv_export_cells_that_would_be_formulas_are_neutralised(
    client: FlaskClient, store: RedisStore, seeded: str, reason: str
) -> None:
    stream = redis_keys.symbol_signals(seeded)
    (_, fields), *_ = store.client.xrevrange(stream, count=1)
    signal = json.loads(fields["data"])
    store.client.xadd(stream, {"data": json.dumps(signal | {"id": "evil", "reason": reason})})
    writer = auth.create_key(store, "w", "read,write").key
    body = {"symbols": [seeded], "what": "signals", "format": "csv"}
    created = client.post(EXPORT, json=body, headers=_bearer(writer)).get_json()
    exports.run(store, created["id"])
    text = client.get(f"{EXPORT}/{created['id']}/download", headers=_bearer(writer)).get_data(
        as_text=True
    )
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}
    assert rows["evil"]["reason"] == "'" + reason
    assert float(rows["evil"]["price"]) == signal["price"]
    assert all(not r["reason"].startswith(exports.FORMULA_STARTS) for r in rows.values())


# Finding 21: CORS allows PATCH (the alert routes use it); charset named once on CSV.


def test_cors_preflight_allows_patch(settings: Settings) -> None:
    client = create_app(settings.replace(cors_origins="https://app.example")).test_client()
    preflight = client.options(
        f"{ALERTS}/rules/dip",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "PATCH"},
    )
    methods = [m.strip() for m in preflight.headers["Access-Control-Allow-Methods"].split(",")]
    assert "PATCH" in methods


def test_csv_export_content_type_names_its_charset_once(
    client: FlaskClient, store: RedisStore, fresh: str
) -> None:
    writer = auth.create_key(store, "w", "read,write").key
    body = {"symbols": [fresh], "format": "csv"}
    created = client.post(EXPORT, json=body, headers=_bearer(writer)).get_json()
    exports.run(store, created["id"])
    answer = client.get(f"{EXPORT}/{created['id']}/download", headers=_bearer(writer))
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
