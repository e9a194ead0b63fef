"""Times and delays written as text, parsed one way everywhere (CSV files, API, CLI, HTTP).

- ``parse_time``: epoch seconds or ISO 8601 (a date, or a date-time; ``Z`` or an offset; no
  zone means UTC), as whole epoch seconds.
- ``parse_retry_after``: an HTTP ``Retry-After`` value (delta-seconds or an HTTP-date), as
  seconds to wait from ``now``.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_DELAY = re.compile(r"^\d+(\.\d+)?$")  # RFC 9110 delay-seconds (a fraction tolerated)


def parse_time(text: str) -> int:
    """Return ``text`` (epoch seconds or ISO 8601) as whole epoch seconds, rounded down.

    Raises:
        ValueError: ``text`` is neither, or out of the representable range.
    """
    value = text.strip()
    if _NUMBER.match(value):
        return int(value) if "." not in value else math.floor(float(value))
    moment = datetime.fromisoformat(value)  # Python 3.11 reads "Z" and every ISO 8601 form
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return math.floor(moment.timestamp())
    except (OverflowError, OSError) as error:
        raise ValueError(f"time out of range: {value!r}") from error


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` value asks to wait (0 at least); ``None`` if unusable."""
    text = (value or "").strip()
    if not text:
        return None
    if _DELAY.match(text):
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
