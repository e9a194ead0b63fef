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
import os
import re
import secrets
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from wagehood.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors

logger = logging.getLogger(__name__)

PERMISSIONS = ("read", "write", "admin")
KEY_PREFIX = "wh"
JWT_ALGORITHM = "HS256"
_RANKS = {name: rank for rank, name in enumerate(PERMISSIONS)}
_LIMIT_SEPARATORS = re.compile(r"[;,|]")
_LIMIT_ITEM = re.compile(
    r"(?P<count>[0-9]{1,9})\s*(?:/|\s+per\s+)\s*(?:(?P<every>[0-9]{1,6})\s*)?"
    r"(?:second|minute|hour|day|month|year)s?",
    re.IGNORECASE,
)
_UNREAD: Any = object()  # "the caller did not read the key record" (None: it read nothing)
SECRET_FILE = "jwt.secret"  # noqa: S105 - a file name: the generated secret, in the data dir
TOKEN_TYPE = "access"  # noqa: S105 - the JWT typ claim, not a secret
# The JWT secret per store and (JWT_SECRET, data dir): it never changes, so each process
# resolves it once instead of on every token.
_SECRETS: weakref.WeakKeyDictionary[RedisStore, dict[tuple[str, str], str]] = (
    weakref.WeakKeyDictionary()
)


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


def parse_rate_limit(value: str) -> str:
    """Return a valid rate limit such as ``"120/minute"`` or ``"2/second;100/hour"``.

    The syntax is flask-limiter's (``<count>/<unit>`` or ``<count> per <n> <unit>s``, several
    joined by ``;``, ``,`` or ``|``), every count at least 1.

    Raises:
        ValidationError: anything else (``"garbage"``, ``"1;2"``, ``"0/minute"``).
    """
    items = _LIMIT_SEPARATORS.split(value.strip()) if isinstance(value, str) else [""]
    for item in items:
        match = _LIMIT_ITEM.fullmatch(item.strip())
        if match is None or int(match["count"]) < 1 or int(match["every"] or 1) < 1:
            raise ValidationError(
                f"rate_limit must read like '120/minute' or '2/second;100/hour', was {value!r}",
                "rate_limit",
            )
    return value.strip()


def rate_limit_of(principal: Principal, default: str) -> str:
    """Return the key's own rate limit, or ``default`` if it has none (or an invalid one)."""
    if principal.rate_limit and _is_rate_limit(principal.rate_limit):
        return principal.rate_limit
    return default


def _is_rate_limit(value: str) -> bool:
    try:
        parse_rate_limit(value)
    except ValidationError:
        return False
    return True


def create_key(
    store: RedisStore, name: str, permissions: str | Iterable[str], rate_limit: str | None = None
) -> NewKey:
    """Create and store (hashed) a new key; return it, the only time it is visible."""
    if not name.strip() or len(name) > 100:
        raise ValidationError("name must be 1-100 characters", "name")
    if rate_limit is not None:
        rate_limit = parse_rate_limit(rate_limit)
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
    """Mark key ``key_id`` revoked and bump the keys' revision; its tokens stop working too."""
    with translate_errors():
        raw = store.client.hget(keys.API_KEYS, key_id)
        if raw is None:
            raise NotFoundError(f"no API key with id {key_id!r}")
        record = json.loads(raw) | {"revoked": True}
        # The revision moves with the record, atomically: web processes that cache verified
        # keys see it on their next rate-limit round trip and verify again (api/key_cache.py).
        pipe = store.client.pipeline(transaction=True)
        pipe.hset(keys.API_KEYS, key_id, json.dumps(record))
        pipe.incr(keys.API_KEYS_REVISION)
        pipe.execute()
    logger.info("revoked API key %s", key_id)
    return _principal(record)


def keys_revision(store: RedisStore) -> int:
    """Return the keys' revision: how many revocations there have been (caches compare it)."""
    with translate_errors():
        return int(store.client.get(keys.API_KEYS_REVISION) or 0)


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
    claims = {"sub": principal.key_id, "iat": now, "exp": now + settings.jwt_ttl, "typ": TOKEN_TYPE}
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
    """Return the key id a valid, unexpired token names, or raise ``AuthError``.

    A token must be an ``access`` token (``typ``) whose lifetime (``exp - iat``) is at most
    ``JWT_TTL``: a token forged or issued with a longer one is refused.
    """
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
    issued = claims.get("iat")
    lifetime = claims["exp"] - issued if isinstance(issued, int | float) else -1
    if claims.get("typ") != TOKEN_TYPE or not 0 < lifetime <= settings.jwt_ttl:
        raise AuthError("invalid token")
    return str(claims["sub"])


def authenticate(
    store: RedisStore,
    settings: Settings,
    credential: str,
    failures: FailureLimit | None = None,
) -> Principal:
    """Return the principal of a key or a token (told apart by their shape).

    With ``failures``, the address's failure counter is read in the same round trip as the
    key record, and a refused credential is counted. A valid credential is let through even
    from an address over the limit (other clients behind the same NAT, proxy or loopback keep
    working); an invalid one from such an address is refused with ``TooManyFailuresError``.
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
    failed = int(results.pop() or 0) if failures is not None else 0
    record = results[0] if key_id else None
    try:
        if problem is not None:
            raise problem
        if is_key:
            return verify_key(store, credential, record)
        return verify_token(store, settings, credential, record)
    except AuthError:
        if failures is not None:
            if failed >= failures.limit:
                raise TooManyFailuresError(failures) from None
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
    """Return ``JWT_SECRET``, or the secret generated once into ``<data dir>/jwt.secret``.

    The generated secret is created mode 0600 from the start and never stored in Redis (read
    access to Redis must not give admin access). The copy earlier versions kept in Redis
    (``wh:jwt:secret``) is deleted on first use and never trusted again: the tokens it signed
    stop working and clients exchange their keys anew (tokens live ``JWT_TTL`` anyway).
    """
    cache = _SECRETS.setdefault(store, {})
    where = (settings.jwt_secret, settings.data_dir)
    if where not in cache:
        _retire_redis_secret(store)
        cache[where] = settings.jwt_secret or _file_secret(Path(settings.data_dir) / SECRET_FILE)
    return cache[where]


def _retire_redis_secret(store: RedisStore) -> None:
    with translate_errors():
        removed = store.client.delete(keys.JWT_SECRET)
    if removed:
        logger.warning(
            "deleted the JWT secret earlier versions kept in Redis (%s); tokens it signed are "
            "refused from now on, clients exchange their keys for new ones",
            keys.JWT_SECRET,
        )


def _file_secret(path: Path) -> str:
    if not path.exists():
        # Written whole under a private name, then linked into place: the first process wins
        # and nobody ever reads a half-written or world-readable secret.
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        write_private(temp, secrets.token_hex(32) + "\n")
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"{path} is readable by others (mode {mode:o}): chmod 600 it")
    secret = path.read_text().strip()
    if len(secret.encode()) < 32:
        raise ConfigError(f"{path}: the JWT secret must be at least 32 bytes")
    return secret


def write_private(path: Path, text: str) -> None:
    """Create file ``path`` with mode 0600 from the start and write ``text`` (never overwrite)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


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
