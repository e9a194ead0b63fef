"""The one place where errors become HTTP responses: ``{"error": {"type", "message"}}``.

Domain errors (``wagehood.errors``) know nothing of HTTP; this module maps them, werkzeug's
HTTP errors (404, 405, 413, webargs' 422 ...), the rate limiter's 429 and anything unexpected
(500, logged, never a traceback in the body) to one JSON shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify
from kombu.exceptions import OperationalError
from werkzeug.exceptions import HTTPException

from wagehood.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    TemporaryError,
    ValidationError,
    WagehoodError,
)

logger = logging.getLogger(__name__)

STATUS = (
    (PermissionDeniedError, 403),
    (AuthError, 401),
    (ValidationError, 422),
    (NotFoundError, 404),
    (ConflictError, 409),
    (QuotaExceededError, 429),
    (TemporaryError, 503),
)
HTTP_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    431: "headers_too_large",
    503: "temporarily_unavailable",
}


def error_response(
    status: int, kind: str, message: str, field: str | None = None, **headers: str
) -> Response:
    """Return the JSON error response every error handler builds."""
    body: dict[str, Any] = {"type": kind, "message": message}
    if field:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    response.headers.update(headers)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="wagehood"'
    return response


def handle_domain_error(error: WagehoodError) -> Response:
    """Map a domain error by its class (what the caller should do)."""
    status = next((code for cls, code in STATUS if isinstance(error, cls)), 400)
    headers = {}
    if isinstance(error, TemporaryError | QuotaExceededError):
        headers["Retry-After"] = str(max(1, int(error.retry_after or 1)))
    if isinstance(error, TemporaryError):
        logger.warning("503: %s", error)
    field = getattr(error, "field", None)
    return error_response(status, error.kind, str(error), field, **headers)


def handle_http_error(error: HTTPException) -> Response:
    """Map werkzeug/webargs/limiter HTTP errors; name the first invalid field if known."""
    status = error.code or 500
    if status >= 500:
        return handle_unexpected(error)
    field, message = _first_message(getattr(error, "data", None) or {})
    kind = HTTP_TYPES.get(status, "http_error")
    text = message or error.description or kind
    if status == 429:
        text = f"rate limit exceeded ({error.description})"
    retry_after = getattr(error, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else {}
    response = error_response(status, kind, text, field, **headers)
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


def _first_message(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    messages = data.get("messages")
    if not isinstance(messages, Mapping):
        return None, None
    for location in messages.values():
        if isinstance(location, Mapping):
            for name, problems in location.items():
                detail = problems[0] if isinstance(problems, list) and problems else problems
                return str(name), f"{name}: {detail}"
        return None, str(location[0] if isinstance(location, list) and location else location)
    return None, None


def error_frame(error: WagehoodError) -> dict[str, Any]:
    """Return the ``data`` of a WebSocket ``error`` frame for a domain error."""
    data = {"type": error.kind, "message": str(error)}
    field = getattr(error, "field", None)
    return data | {"field": field} if field else data


def handle_broker_error(error: OperationalError) -> Response:
    """The Celery broker could not be reached: 503."""
    logger.warning("broker unavailable: %s", error)
    return error_response(
        503, "temporarily_unavailable", "task broker unavailable", None, **{"Retry-After": "5"}
    )


def handle_recursion(error: RecursionError) -> Response:
    """A JSON body nested too deeply to parse: 400, not 500."""
    return error_response(400, "bad_request", "JSON nested too deeply")


def handle_value_error(error: ValueError) -> Response:
    """A JSON integer over Python's 4,300-digit conversion limit: 400; other errors: 500."""
    if "integer string conversion" in str(error):
        return error_response(400, "bad_request", "JSON number too long")
    return handle_unexpected(error)


def handle_unexpected(error: BaseException) -> Response:
    """Anything else: log it with its traceback, answer 500 without one."""
    logger.error("unexpected error", exc_info=error)
    return error_response(500, "internal_error", "internal server error")


def register_errorhandlers(app: Flask) -> None:
    """Install the handlers on ``app`` (after flask-smorest, replacing its HTTP handler)."""
    app.register_error_handler(WagehoodError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_broker_error)
    app.register_error_handler(RecursionError, handle_recursion)
    app.register_error_handler(ValueError, handle_value_error)
    app.register_error_handler(Exception, handle_unexpected)
