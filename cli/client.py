"""The HTTP client every API command uses: base URL, key, timeout, retries, error mapping.

Connection errors and 503/429 answers are retried with exponential backoff (``Retry-After``
is honoured, capped); a request that may have reached the server is retried only when it is
idempotent. Errors become one line and a documented exit code: cannot connect or 503 -> 3,
401/403 -> 4, 404 -> 5, 400/409/422 -> 2 with the server's message, anything else -> 1.
The key is sent as ``Authorization: Bearer`` and never printed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import quote

import click
import httpx

from cli import clicfg, ui
from cli.errors import (
    EXIT_AUTH,
    EXIT_NOT_FOUND,
    EXIT_OTHER,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
)
from wagehood import __version__
from wagehood.settings import Settings
from wagehood.timeparse import parse_retry_after

API_PREFIX = "/api/v1"
RETRY_STATUSES = (429, 503)
MAX_RETRY_AFTER = 10.0
IDEMPOTENT = ("GET", "PUT", "DELETE", "HEAD")
STATUS_EXIT = {401: EXIT_AUTH, 403: EXIT_AUTH, 404: EXIT_NOT_FOUND, 503: EXIT_UNREACHABLE}
STATUS_EXIT |= dict.fromkeys((400, 405, 409, 422), EXIT_USAGE)

P = ParamSpec("P")
R = TypeVar("R")


class ApiClient:
    """A small synchronous client of the Wagehood API (paths relative to ``/api/v1``)."""

    def __init__(
        self,
        base_url: str,
        key: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.25,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.retries = retries
        self.backoff = backoff
        headers = {"User-Agent": f"wagehood-cli/{__version__}", "Accept": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.http = httpx.Client(
            base_url=self.base_url + API_PREFIX, timeout=timeout, headers=headers
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` with the non-``None`` ``params``; return the decoded JSON."""
        return self.request("GET", path, params=_clean(params)).json()

    def get_status(self, path: str, accept: tuple[int, ...], **params: Any) -> tuple[int, Any]:
        """GET ``path``; statuses in ``accept`` are answers (not retried), with their JSON."""
        response = self.request("GET", path, accept=accept, params=_clean(params))
        return response.status_code, response.json()

    def post(self, path: str, body: Any) -> Any:
        """POST ``body`` as JSON; return the decoded JSON."""
        return self.request("POST", path, json=body).json()

    def put(self, path: str, body: Any) -> Any:
        """PUT ``body`` as JSON; return the decoded JSON."""
        return self.request("PUT", path, json=body).json()

    def delete(self, path: str) -> Any:
        """DELETE ``path``; return the decoded JSON (``None`` for an empty answer)."""
        response = self.request("DELETE", path)
        return response.json() if response.content else None

    def request(
        self, method: str, path: str, accept: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """Send a request with retries and map a failure (not in ``accept``) to a ``CliError``."""
        with ui.spinner(f"{method} {path}"):
            response = self._send(method, path, accept, kwargs)
        if response.status_code not in accept:
            _raise_for(response)
        return response

    @contextmanager
    def stream(self, path: str) -> Iterator[httpx.Response]:
        """Open a streaming GET of ``path`` (e.g. a download); map errors like ``request``."""
        try:
            with self.http.stream("GET", path) as response:
                if response.is_error:
                    response.read()
                    _raise_for(response)
                yield response
        except httpx.TransportError as error:
            raise self.unreachable(error) from error

    def ws_url(self, path: str) -> str:
        """Return the ``ws://``/``wss://`` URL of an API path."""
        return "ws" + self.base_url.removeprefix("http") + API_PREFIX + path

    def unreachable(self, error: Exception) -> CliError:
        """Return the exit-3 error for a transport failure."""
        detail = str(error) or type(error).__name__
        return CliError(f"cannot reach the API at {self.base_url}: {detail}", EXIT_UNREACHABLE)

    def _send(
        self, method: str, path: str, accept: tuple[int, ...], kwargs: dict[str, Any]
    ) -> httpx.Response:
        for attempt in range(self.retries + 1):
            response, error = self._attempt(method, path, kwargs)
            answered = response is not None and response.status_code in accept
            if answered or attempt == self.retries or not _retryable(method, response, error):
                break
            time.sleep(self._delay(attempt, response))
        if response is None:
            raise self.unreachable(error or RuntimeError("no response")) from error
        return response

    def _attempt(
        self, method: str, path: str, kwargs: dict[str, Any]
    ) -> tuple[httpx.Response | None, httpx.TransportError | None]:
        try:
            return self.http.request(method, path, **kwargs), None
        except httpx.TransportError as error:
            return None, error

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        header = response.headers.get("Retry-After") if response is not None else None
        wait = parse_retry_after(header)
        if wait is not None:
            return min(wait, MAX_RETRY_AFTER)
        return float(self.backoff * 2**attempt)


def _retryable(
    method: str, response: httpx.Response | None, error: httpx.TransportError | None
) -> bool:
    # A connect failure never reached the server; other failures may have, so only
    # idempotent requests are sent again.
    if response is not None:
        return response.status_code in RETRY_STATUSES
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout) or method in IDEMPOTENT


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    status = response.status_code
    raise CliError(f"{status} {_message(response)}", STATUS_EXIT.get(status, EXIT_OTHER))


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {"message": str(error)}
    message = str(error.get("message") or response.reason_phrase or "error").splitlines()[0]
    field = error.get("field")
    text = f"{error.get('type', 'error')}: {message}" + (f" (field: {field})" if field else "")
    if response.status_code == 401:
        text += " (pass --api-key or set WAGEHOOD_API_KEY)"
    return text


def segment(value: str) -> str:
    """Quote ``value`` for use as one URL path segment."""
    return quote(value, safe="")


def build_client(ctx: click.Context) -> ApiClient:
    """Build the client from the resolved configuration and the ``API_PORT`` default."""
    config = clicfg.current(ctx)
    settings = ctx.find_object(Settings)
    port = settings.api_port if settings else 8000
    url = config.api_url or f"http://127.0.0.1:{port}"
    return ApiClient(url, config.api_key, config.timeout, config.retries)


def current_client() -> ApiClient:
    """Return the running command's client, built once and closed when the command ends."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    if "wagehood.client" not in root.meta:
        client = build_client(ctx)
        root.meta["wagehood.client"] = client
        root.call_on_close(client.close)
    existing: ApiClient = root.meta["wagehood.client"]
    return existing


def pass_client(func: Callable[Concatenate[ApiClient, P], R]) -> Callable[P, R]:
    """Decorate a command so it receives the ``ApiClient`` as its first argument."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return func(current_client(), *args, **kwargs)

    return wrapper
