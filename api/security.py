"""Authentication, permissions, rate limits, CORS and security headers, wired for every route.

Deny by default: every endpoint needs a valid key or token except those in ``PUBLIC``; the
permission needed is ``read`` for reads and ``write`` for changes unless ``PERMISSIONS`` says
otherwise. Rate limits are counted per API key (a key's tokens share its budget; one budget
across every route) in Redis by flask-limiter (fixed window, one round trip per request:
``api/rate_storage.py``; ``X-RateLimit-*`` headers on every limited response). Verified keys
are cached for a second (``api/key_cache.py``); a revocation still takes effect at once.
Failed authentications are counted per client address (``TRUSTED_PROXIES`` says whether
X-Forwarded-For names it); over the limit, only requests without a valid credential are
refused. Public routes are limited per client address instead (``RATE_LIMIT_PUBLIC``, counted
per process).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, Response, current_app, g, request
from flask_limiter import ApplicationLimit, Limiter
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from api.extensions import state
from api.rate_storage import OneTripRedisStorage, storage_uri
from wagehood.errors import AuthError
from wagehood.service import auth
from wagehood.service.auth import Principal
from wagehood.storage import keys as redis_keys

logger = logging.getLogger(__name__)
T = TypeVar("T")

PUBLIC = frozenset(
    {
        "monitor.health",
        "monitor.liveness",
        "monitor.readiness",
        "metrics.metrics",
        "api-docs.openapi_json",
        "docs.page",
        "docs.asset",
        "dashboard.page",  # the page and its assets hold no data: it all comes from the API
        "dashboard.asset",
        "static",
    }
)
PERMISSIONS = {
    "export.create": "write",
    "auth.token": "read",
    "auth.list_keys": "admin",
    "auth.create_key": "admin",
    "auth.revoke_key": "admin",
}
DETAILS_NEED_AUTH = frozenset({"monitor.health"})  # public, but ?detailed=true needs a key
FALSY = frozenset({"", "0", "false", "f", "no", "n", "off"})
TOKEN_QUERY_ENDPOINTS = frozenset({"ws.realtime"})
READ_METHODS = frozenset({"GET", "HEAD"})
AUTH_FAILURE_LIMIT = 100  # failed authentications per client address and window
AUTH_FAILURE_WINDOW = 60
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
# The dashboard: its own scripts, styles, fetch and WebSocket only; no inline code, no forms.
DASHBOARD_CSP = DOCS_CSP + "; base-uri 'none'; form-action 'none'"
PAGE_CSP = dict.fromkeys(("docs.page", "docs.asset"), DOCS_CSP) | dict.fromkeys(
    ("dashboard.page", "dashboard.asset"), DASHBOARD_CSP
)


def limit_request_size() -> None:
    """Refuse a declared body over ``MAX_CONTENT_LENGTH`` before anything reads it (413)."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"request body over {limit} bytes")


def authenticate_request() -> None:
    """Before each request: check credentials and permission unless the route is public.

    The address's failed-authentication counter and the key record are read in one round
    trip. A key verified in the last second is taken from the key cache instead; the
    rate-limit round trip then tells whether any key was revoked since
    (``recheck_cached_key``), so a revoked key is still refused at once.
    """
    _take_revision()  # a revision left by an earlier request on this thread is not ours
    endpoint = request.endpoint
    if endpoint is None or request.method == "OPTIONS":
        return
    if endpoint in PUBLIC and not _details_asked(endpoint):
        return
    app_state = state()
    failures = _failure_limit()
    try:
        credential, kind = _credential(endpoint)
    except AuthError:
        _refused_too_often(lambda: auth.refuse_repeated_failures(app_state.store, failures))
        auth.count_failure(app_state.store, failures)
        raise
    cached = app_state.key_cache.get(credential) if kind == "key" else None
    if cached is None:
        _verify(credential, kind, failures)
    else:
        _accept(cached.principal, credential, kind)
        g.cached_key = cached


def recheck_cached_key() -> None:
    """After the rate limiter: verify a cached key again if a key was revoked since.

    The limiter's round trip returned the keys' revision; without one (the route is not
    limited, or Redis failed), the key is verified from Redis as if it was not cached.
    """
    cached = g.pop("cached_key", None)
    if cached is None:
        return
    revision = _take_revision()
    if revision is not None and revision <= cached.revision:
        return
    state().key_cache.forget(g.credential)
    _verify(g.credential, g.credential_kind, _failure_limit())


def _verify(credential: str, kind: str, failures: auth.FailureLimit) -> None:
    app_state = state()
    revision = auth.keys_revision(app_state.store) if kind == "key" else 0
    principal = _refused_too_often(
        lambda: auth.authenticate(app_state.store, app_state.settings, credential, failures)
    )
    _accept(principal, credential, kind)
    if kind == "key":
        app_state.key_cache.put(credential, principal, revision)


def _accept(principal: Principal, credential: str, kind: str) -> None:
    endpoint = request.endpoint or ""
    needed = PERMISSIONS.get(endpoint) or ("read" if request.method in READ_METHODS else "write")
    auth.require(principal, needed)
    g.principal = principal
    g.credential = credential
    g.credential_kind = kind


def _take_revision() -> int | None:
    storage = getattr(state().limiter, "storage", None)
    return storage.take_revision() if isinstance(storage, OneTripRedisStorage) else None


def _details_asked(endpoint: str) -> bool:
    return endpoint in DETAILS_NEED_AUTH and request.args.get("detailed", "").lower() not in FALSY


@dataclass(frozen=True)
class PublicLimit:
    """Requests to public routes allowed per client address, counted in this process.

    In memory, not in Redis: the public routes (health above all) must answer at once
    even when Redis is slow or paused.
    """

    item: RateLimitItem
    counter: FixedWindowRateLimiter


def limit_public_routes() -> None:
    """Before each request to a public route: count it against its address (429 when over)."""
    if request.endpoint not in PUBLIC:
        return
    public: PublicLimit = current_app.extensions["wagehood.public_limit"]
    address = request.remote_addr or "unknown"
    if not public.counter.hit(public.item, "public", address):
        reset = public.counter.get_window_stats(public.item, "public", address).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise TooManyRequests(f"{public.item} per address", retry_after=retry_after)


def _failure_limit() -> auth.FailureLimit:
    limit = current_app.config.get("AUTH_FAILURE_LIMIT", AUTH_FAILURE_LIMIT)
    counter = f"{redis_keys.AUTH_FAILURES}:{request.remote_addr}"
    return auth.FailureLimit(counter, limit, AUTH_FAILURE_WINDOW)


def _refused_too_often(call: Callable[[], T]) -> T:
    """429 for an address that failed authentication too often in the current window."""
    try:
        return call()
    except auth.TooManyFailuresError as error:
        raise TooManyRequests(str(error), retry_after=error.retry_after) from None


def _credential(endpoint: str) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        text = value.strip()
    elif endpoint in TOKEN_QUERY_ENDPOINTS and request.args.get("token"):
        text = request.args["token"]
        if text.startswith(f"{auth.KEY_PREFIX}_"):
            # A query string lands in access logs and browser history: short-lived tokens only.
            raise AuthError(
                "API keys are not accepted in the query string; "
                "exchange the key for a token (POST /api/v1/auth/token)"
            )
    else:
        raise AuthError("missing credentials: send 'Authorization: Bearer <key or token>'")
    if len(text) > 4096:
        raise AuthError("invalid credentials")
    return text, "key" if text.startswith(f"{auth.KEY_PREFIX}_") else "token"


def current_principal() -> Principal:
    """Return the authenticated caller of this request."""
    principal: Principal = g.principal
    return principal


def current_credential() -> str:
    """Return the key or token this request authenticated with (never log it)."""
    credential: str = g.credential
    return credential


def _rate_key() -> str:
    principal = g.get("principal")
    return f"key:{principal.key_id}" if principal else f"ip:{request.remote_addr}"


def _rate_limit() -> str:
    principal = g.get("principal")
    default = state().settings.rate_limit_default
    return default if principal is None else auth.rate_limit_of(principal, default)


def _exempt() -> bool:
    return request.endpoint is None or request.endpoint in PUBLIC or request.method == "OPTIONS"


def security_headers(response: Response) -> Response:
    """After each request: security headers, CORS for configured origins only."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", PAGE_CSP.get(request.endpoint or "", API_CSP))
    if request.endpoint not in PUBLIC:
        headers.setdefault("Cache-Control", "no-store")
    _cors(response)
    return response


def _cors(response: Response) -> None:
    origin = request.headers.get("Origin")
    allowed = [o.strip() for o in state().settings.cors_origins.split(",") if o.strip()]
    if origin and origin in allowed and origin != "*":
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
        response.headers["Access-Control-Expose-Headers"] = (
            "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
        )
    response.headers.add("Vary", "Origin")


def build_limiter(app: Flask) -> Limiter:
    """Create the rate limiter (flask-limiter: Redis storage, per-key limits, headers).

    The limit is an application-wide (shared) one: a key has one budget across every route,
    not one per route.
    """
    settings = app.extensions["wagehood"].settings
    limiter = Limiter(
        _rate_key,
        application_limits=[ApplicationLimit(_rate_limit, scope="budget")],
        storage_uri=storage_uri(settings.redis_url),
        storage_options={"socket_timeout": 3, "socket_connect_timeout": 3},
        headers_enabled=True,
        swallow_errors=True,
        strategy="fixed-window",
        key_prefix="wh:ratelimit",
    )
    limiter.request_filter(_exempt)
    limiter.init_app(app)
    return limiter


def register_security(app: Flask) -> Limiter:
    """Wire authentication before the limiter (so limits are per key) and the headers after."""
    item = parse(app.extensions["wagehood"].settings.rate_limit_public)
    app.extensions["wagehood.public_limit"] = PublicLimit(
        item, FixedWindowRateLimiter(MemoryStorage())
    )
    app.before_request(limit_request_size)
    app.before_request(limit_public_routes)
    app.before_request(authenticate_request)
    limiter = build_limiter(app)
    app.before_request(recheck_cached_key)  # after the limiter's hook: it reads the revision
    app.after_request(security_headers)
    return limiter
