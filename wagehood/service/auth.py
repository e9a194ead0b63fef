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


def verify_key(store: RedisStore, key: str) -> Principal:
    """Return the principal of a valid key or raise ``AuthError``."""
    key_id = _key_id(key)
    with translate_errors():
        raw = store.client.hget(keys.API_KEYS, key_id) if key_id else None
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


def verify_token(store: RedisStore, settings: Settings, token: str) -> Principal:
    """Return the principal of a valid, unexpired token whose key is not revoked."""
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
    with translate_errors():
        raw = store.client.hget(keys.API_KEYS, str(claims["sub"]))
    principal = _principal(json.loads(raw)) if raw else None
    if principal is None or principal.revoked:
        raise AuthError("the token's API key was revoked")
    return principal


def authenticate(store: RedisStore, settings: Settings, credential: str) -> Principal:
    """Return the principal of a key or a token (told apart by their shape)."""
    if credential.startswith(f"{KEY_PREFIX}_"):
        return verify_key(store, credential)
    return verify_token(store, settings, credential)


def require(principal: Principal, permission: str) -> None:
    """Raise ``PermissionDeniedError`` unless ``principal`` holds ``permission``."""
    if not principal.allows(permission):
        raise PermissionDeniedError(f"this API key lacks the {permission!r} permission")


def jwt_secret(store: RedisStore, settings: Settings) -> str:
    """Return ``JWT_SECRET``, or the secret generated once and kept in Redis."""
    if settings.jwt_secret:
        return settings.jwt_secret
    with translate_errors():
        secret = store.client.get(keys.JWT_SECRET)
        if secret is None:
            store.client.set(keys.JWT_SECRET, secrets.token_hex(32), nx=True)
            secret = store.client.get(keys.JWT_SECRET)
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
