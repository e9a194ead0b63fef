"""API keys and short-lived tokens: create, list, revoke, verify.

A key reads ``wh_<id>_<secret>``. Only the SHA-256 of the whole key is kept (in the
``wh:apikeys`` hash, under its id), so a copy of Redis reveals no usable key; verification
looks the record up by id and compares digests with ``hmac.compare_digest``. Tokens are
HS256 JWTs naming the key id; verifying one also checks that its key is still valid, so
revoking a key ends its tokens too. Never log a key or a token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt

from wagehood.errors import AuthError, NotFoundError, PermissionDeniedError, ValidationError
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors

logger = logging.getLogger(__name__)

PERMISSIONS = ("read", "write", "admin")
KEY_PREFIX = "wh"
JWT_ALGORITHM = "HS256"
_RANKS = {name: rank for rank, name in enumerate(PERMISSIONS)}
_UNREAD: Any = object()  # "the caller did not read the key record" (None: it read nothing)
# The generated JWT secret per store: it never changes once set (SET NX), so each process
# reads it once instead of on every token.
_SECRETS: weakref.WeakKeyDictionary[RedisStore, str] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key id, its name, permissions and optional own rate limit."""

    key_id: str
    name: str
    permissions: tuple[str, ...]
    rate_limit: str | None = None
    created_at: float = 0.0
    revoked: bool = False

    def allows(self, needed: str) -> bool:
        """Return whether the principal holds ``needed`` (admin implies write implies read)."""
        return max((_RANKS[p] for p in self.permissions), default=-1) >= _RANKS[needed]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping without any secret."""
        return {
            "id": self.key_id,
            "name": self.name,
            "permissions": list(self.permissions),
            "rate_limit": self.rate_limit,
            "created_at": self.created_at,
            "revoked": self.revoked,
        }


@dataclass(frozen=True)
class FailureLimit:
    """Failed authentications allowed per client address and window, counted in Redis."""

    counter: str  # the Redis key of this address's counter
    limit: int
    window: int


class TooManyFailuresError(AuthError):
    """The address failed authentication ``limit`` times in the current window."""

    def __init__(self, failures: FailureLimit) -> None:
        super().__init__(
            f"{failures.limit} failed authentications per {failures.window} s from this address"
        )
        self.retry_after = failures.window


@dataclass(frozen=True)
class NewKey:
    """A freshly created key: ``key`` is shown once and never stored."""

    key: str
    principal: Principal = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"key", "id", "name", "permissions"}``."""
        return {"key": self.key, **self.principal.to_dict()}


def parse_permissions(value: str | Iterable[str]) -> tuple[str, ...]:
    """Return validated permissions from ``"read,write"`` or a list."""
    items = value.split(",") if isinstance(value, str) else list(value)
    cleaned = tuple(dict.fromkeys(str(p).strip().lower() for p in items if str(p).strip()))
    unknown = [p for p in cleaned if p not in _RANKS]
    if unknown or not cleaned:
        raise ValidationError(
            f"permissions must be some of {', '.join(PERMISSIONS)}, was {value!r}", "permissions"
        )
    return cleaned


def create_key(
    store: RedisStore, name: str, permissions: str | Iterable[str], rate_limit: str | None = None
) -> NewKey:
    """Create and store (hashed) a new key; return it, the only time it is visible."""
    if not name.strip() or len(name) > 100:
        raise ValidationError("name must be 1-100 characters", "name")
    key_id = secrets.token_hex(8)
    key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    principal = Principal(
        key_id, name.strip(), parse_permissions(permissions), rate_limit, time.time()
    )
    record = {**principal.to_dict(), "hash": _digest(key)}
    with translate_errors():
        store.client.hset(keys.API_KEYS, key_id, json.dumps(record))
    logger.info("created API key %s (%s)", key_id, principal.name)
    return NewKey(key, principal)


def list_keys(store: RedisStore) -> list[Principal]:
    """Return every key's record (no secrets), oldest first."""
    with translate_errors():
        raw = store.client.hgetall(keys.API_KEYS)
    principals = [_principal(json.loads(value)) for value in raw.values()]
    return sorted(principals, key=lambda p: (p.created_at, p.key_id))


def revoke_key(store: RedisStore, key_id: str) -> Principal:
    """Mark key ``key_id`` revoked; its tokens stop working too."""
    with translate_errors():
        raw = store.client.hget(keys.API_KEYS, key_id)
        if raw is None:
            raise NotFoundError(f"no API key with id {key_id!r}")
        record = json.loads(raw) | {"revoked": True}
        store.client.hset(keys.API_KEYS, key_id, json.dumps(record))
    logger.info("revoked API key %s", key_id)
    return _principal(record)


def has_keys(store: RedisStore) -> bool:
    """Return whether any key exists (``make run`` creates a first admin key otherwise)."""
    with translate_errors():
        return bool(store.client.hlen(keys.API_KEYS))


def verify_key(store: RedisStore, key: str, record: str | None = _UNREAD) -> Principal:
    """Return the principal of a valid key or raise ``AuthError``.

    ``record`` is the key's stored record (or ``None``) when the caller already read it.
    """
    key_id = _key_id(key)
    if record is _UNREAD:
        with translate_errors():
            record = store.client.hget(keys.API_KEYS, key_id) if key_id else None
    raw = record if key_id else None
    stored = json.loads(raw)["hash"] if raw else _digest("absent")
    if not hmac.compare_digest(stored, _digest(key)) or raw is None:
        raise AuthError("invalid API key")
    principal = _principal(json.loads(raw))
    if principal.revoked:
        raise AuthError("API key revoked")
    return principal


def issue_token(store: RedisStore, settings: Settings, principal: Principal) -> dict[str, Any]:
    """Return a JWT for ``principal`` valid for ``settings.jwt_ttl`` seconds."""
    now = int(time.time())
    claims = {"sub": principal.key_id, "iat": now, "exp": now + settings.jwt_ttl, "typ": "access"}
    token = jwt.encode(claims, jwt_secret(store, settings), algorithm=JWT_ALGORITHM)
    return {"access_token": token, "token_type": "Bearer", "expires_in": settings.jwt_ttl}


def verify_token(
    store: RedisStore, settings: Settings, token: str, record: str | None = _UNREAD
) -> Principal:
    """Return the principal of a valid, unexpired token whose key is not revoked.

    ``record`` is the stored record of the token's key when the caller already read it.
    """
    subject = token_subject(store, settings, token)
    if record is _UNREAD:
        with translate_errors():
            record = store.client.hget(keys.API_KEYS, subject)
    principal = _principal(json.loads(record)) if record else None
    if principal is None or principal.revoked:
        raise AuthError("the token's API key was revoked")
    return principal


def token_subject(store: RedisStore, settings: Settings, token: str) -> str:
    """Return the key id a valid, unexpired token names, or raise ``AuthError``."""
    try:
        claims = jwt.decode(
            token,
            jwt_secret(store, settings),
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.InvalidTokenError:
        raise AuthError("invalid token") from None
    return str(claims["sub"])


def authenticate(
    store: RedisStore,
    settings: Settings,
    credential: str,
    failures: FailureLimit | None = None,
) -> Principal:
    """Return the principal of a key or a token (told apart by their shape).

    With ``failures``, the address's failure counter is read in the same round trip as the
    key record: an address over the limit is refused (``TooManyFailuresError``) before its
    credential is judged, and a refused credential is counted.
    """
    is_key = credential.startswith(f"{KEY_PREFIX}_")
    problem: AuthError | None = None
    key_id: str | None = None
    try:
        key_id = _key_id(credential) if is_key else token_subject(store, settings, credential)
    except AuthError as error:
        problem = error  # judged after the failure counter
    reads: list[tuple[str, tuple[Any, ...]]] = [("hget", (keys.API_KEYS, key_id))] if key_id else []
    if failures is not None:
        reads.append(("get", (failures.counter,)))
    results = store.pipeline_reads(reads)
    if failures is not None and int(results.pop() or 0) >= failures.limit:
        raise TooManyFailuresError(failures)
    record = results[0] if key_id else None
    try:
        if problem is not None:
            raise problem
        if is_key:
            return verify_key(store, credential, record)
        return verify_token(store, settings, credential, record)
    except AuthError:
        if failures is not None:
            count_failure(store, failures)
        raise


def refuse_repeated_failures(store: RedisStore, failures: FailureLimit) -> None:
    """Raise ``TooManyFailuresError`` if the address is over its failure limit."""
    with translate_errors():
        count = int(store.client.get(failures.counter) or 0)
    if count >= failures.limit:
        raise TooManyFailuresError(failures)


def count_failure(store: RedisStore, failures: FailureLimit) -> None:
    """Count one failed authentication of the address (the window starts at its first)."""
    with translate_errors():
        pipe = store.client.pipeline(transaction=False)
        pipe.incr(failures.counter)
        pipe.expire(failures.counter, failures.window, nx=True)
        pipe.execute()


def require(principal: Principal, permission: str) -> None:
    """Raise ``PermissionDeniedError`` unless ``principal`` holds ``permission``."""
    if not principal.allows(permission):
        raise PermissionDeniedError(f"this API key lacks the {permission!r} permission")


def jwt_secret(store: RedisStore, settings: Settings) -> str:
    """Return ``JWT_SECRET``, or the secret generated once and kept in Redis (read once)."""
    if settings.jwt_secret:
        return settings.jwt_secret
    cached = _SECRETS.get(store)
    if cached is not None:
        return cached
    with translate_errors():
        secret = store.client.get(keys.JWT_SECRET)
        if secret is None:
            store.client.set(keys.JWT_SECRET, secrets.token_hex(32), nx=True)
            secret = store.client.get(keys.JWT_SECRET)
    _SECRETS[store] = str(secret)
    return str(secret)


def _key_id(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 16:
        return None
    return parts[1] if all(c in "0123456789abcdef" for c in parts[1]) else None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _principal(record: dict[str, Any]) -> Principal:
    return Principal(
        key_id=str(record["id"]),
        name=str(record["name"]),
        permissions=tuple(record["permissions"]),
        rate_limit=record.get("rate_limit"),
        created_at=float(record.get("created_at", 0.0)),
        revoked=bool(record.get("revoked", False)),
    )
