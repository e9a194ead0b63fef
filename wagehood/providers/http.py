"""Helpers shared by the HTTP providers: send a GET and classify what went wrong.

The classification is the one ``base.py`` documents: transport errors, timeouts, 5xx and 429
raise ``ProviderUnavailableError`` (429 as its subclass ``RateLimitedError`` with
``retry_after`` from Retry-After, seconds or an HTTP-date); 401/403 raise ``ProviderError("<provider>: credentials rejected (401)")``; other
4xx raise ``ProviderError`` quoting the vendor's message. Messages are one line and never
contain request headers, so API secrets cannot leak through them.

httpx is imported when the first request is made, not at import time: ``import httpx``
loads its command-line tool and with it click, which the domain package must not pull in
(``tests/test_imports.py``); mock- and csv-only processes never load it.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from wagehood import __version__
from wagehood.errors import ProviderError, ProviderUnavailableError, RateLimitedError

if TYPE_CHECKING:
    import httpx

    from wagehood.providers.base import RequestPermits

logger = logging.getLogger(__name__)

USER_AGENT = f"wagehood/{__version__} (python-httpx)"
MAX_MESSAGE = 200  # characters of a vendor's error text quoted in our messages


def make_client(timeout: float) -> httpx.Client:
    """Return an HTTP client with our timeout and User-Agent."""
    import httpx  # noqa: PLC0415 - lazily, see the module docstring

    return httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT})


def get(
    provider: str,
    client: httpx.Client,
    url: str,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    budget: RequestPermits | None = None,
    acquire: bool = False,
) -> httpx.Response:
    """Send a GET; raise ``ProviderUnavailableError`` on a network error or timeout.

    With a ``budget``: take a permit first when ``acquire`` (history; the dispatcher takes
    the live polls' permits itself), and pause the budget when the vendor answers 429.
    """
    import httpx  # noqa: PLC0415 - lazily, see the module docstring

    if budget is not None and acquire:
        budget.acquire()
    try:
        response = client.get(url, params=params, headers=headers)
    except httpx.TimeoutException as error:
        raise ProviderUnavailableError(f"{provider}: request timed out ({_kind(error)})") from error
    except httpx.TransportError as error:
        raise ProviderUnavailableError(
            f"{provider}: cannot reach the server: {one_line(str(error))}"
        ) from error
    if budget is not None and response.status_code == 429:
        budget.pause(parse_retry_after(response.headers.get("Retry-After")))
    return response


def raise_for_status(provider: str, response: httpx.Response) -> None:
    """Raise the classified error for a non-2xx ``response``; return quietly otherwise."""
    status = response.status_code
    if status < 400:
        return
    if status in (401, 403):
        raise ProviderError(f"{provider}: credentials rejected ({status})")
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        wait = "" if retry_after is None else f", retry after {retry_after:g} s"
        raise RateLimitedError(f"{provider}: rate limited (429){wait}", retry_after)
    if status >= 500:
        raise ProviderUnavailableError(f"{provider}: server error ({status})")
    raise ProviderError(f"{provider}: request rejected ({status}): {vendor_message(response)}")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return the seconds a Retry-After header asks to wait (delta-seconds or HTTP-date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        logger.debug("ignoring unparsable Retry-After %r", text)
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


def vendor_message(response: httpx.Response) -> str:
    """Return the vendor's error text: a JSON ``message`` field or the body, one line, short."""
    try:
        body = response.json()
    except ValueError:
        return one_line(response.text) or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return one_line(body["message"])
    return one_line(response.text)


def positive_number(value: object) -> float | None:
    """Return ``value`` as a finite positive float, or ``None`` when it is anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def volume_number(value: object) -> float:
    """Return ``value`` as a volume: a finite non-negative float, else 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else 0.0


def one_line(text: str) -> str:
    """Return ``text`` on one line, whitespace collapsed, cut to ``MAX_MESSAGE`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_MESSAGE else flat[: MAX_MESSAGE - 3] + "..."


def _kind(error: httpx.TimeoutException) -> str:
    return type(error).__name__
