"""Logging for every process, configured once: JSON lines or readable text, secrets redacted.

``configure(level, fmt)`` installs one stderr handler on the root logger; workers call it from
Celery's ``setup_logging`` signal, the CLI from its root group, and gunicorn uses
``dict_config`` through ``api/gunicorn_conf.py``. Every handler carries ``RedactingFilter``,
so API keys (``wh_<id>_<secret>``), JWTs, ``Authorization`` values, ``Bearer`` credentials,
passwords in URLs and any extra secret registered with ``add_secret`` become ``***``, and
every URL loses its path and query (``http://host:port/***``): webhook URLs (Discord, Slack)
carry their token in the path, and third-party loggers such as httpx's print whole URLs.
Text lines write control characters of the message as escapes (a line feed as backslash-n),
so no input can forge a second log line.

``bind(**fields)`` attaches context (``task_id``, ``task``, ``symbols``) to every record of the
current thread/task; the JSON formatter writes it with the record's own ``extra`` fields.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

REDACTED = "***"
PATTERNS = (
    re.compile(r"\bwh_[0-9a-f]{16}_[A-Za-z0-9_\-]+"),  # API keys
    re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"),  # JWTs
    re.compile(r"(?i)(?<=bearer )[^\s'\",]+"),
    re.compile(r"(?i)(?<=authorization: )[^\r\n'\",]+"),
    re.compile(r"(?i)(?<=authorization=)[^\s&'\",]+"),
    re.compile(r"(?i)(?<=token=)[^\s&'\",]+"),
    re.compile(r"(?i)(?<=secret-key: )[^\s'\",]+"),
    re.compile(r"(?<=://)[^/\s:@]*:[^/\s@]+(?=@)"),  # user:password@ in URLs
)
URL_TAIL = re.compile(r"\b((?:https?|wss?)://[^/\s?#'\"<>\\]+)[/?#][^\s'\"<>\\]*")
CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
_secrets: set[str] = set()
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "wagehood_log_context", default=None
)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s%(context)s"


def add_secret(*values: str) -> None:
    """Redact these literal values (e.g. provider secrets) wherever they would be logged."""
    _secrets.update(v for v in values if v and len(v) >= 4)


def redact(text: str) -> str:
    """Return ``text`` with every known secret shape and registered secret replaced."""
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    for pattern in PATTERNS:
        text = pattern.sub(REDACTED, text)
    return URL_TAIL.sub(rf"\1/{REDACTED}", text)


def escape_controls(text: str) -> str:
    """Return ``text`` with control characters written as escapes (one line stays one line)."""
    return CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode(), text)


def bind(**fields: Any) -> contextvars.Token[dict[str, Any] | None]:
    """Add ``fields`` to the log context of the current thread; return a token for ``unbind``."""
    return _context.set({**(_context.get() or {}), **fields})


def unbind(token: contextvars.Token[dict[str, Any] | None]) -> None:
    """Restore the log context from before ``bind``."""
    _context.reset(token)


def clear() -> None:
    """Drop the current log context (a worker process between tasks)."""
    _context.set(None)


class RedactingFilter(logging.Filter):
    """Render each record's message once, redacted; add the bound context to the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the message, its arguments and any exception text; never drop a record."""
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        for name, value in (_context.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a single-line JSON object."""
        body: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        body |= {k: v for k, v in vars(record).items() if k not in _STANDARD and k != "context"}
        if record.exc_text or record.exc_info:
            body["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return redact(json.dumps(body, default=str, separators=(",", ":")))


class TextFormatter(logging.Formatter):
    """Readable lines; bound context and extra fields follow the message as ``key=value``."""

    def __init__(self) -> None:
        """Use ``TEXT_FORMAT``."""
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one readable line (plus a traceback if any)."""
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD and k != "context"}
        record.context = escape_controls("".join(f" {k}={v}" for k, v in extra.items()))
        record.msg, record.args = escape_controls(record.getMessage()), None
        return redact(super().format(record))


def formatter_class(fmt: str) -> type[logging.Formatter]:
    """Return the formatter class for ``text`` or ``json``."""
    return JsonFormatter if fmt == "json" else TextFormatter


def dict_config(level: str, fmt: str, loggers: Iterable[str] = ()) -> dict[str, Any]:
    """Return a ``logging.config.dictConfig`` mapping: one redacting stderr handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactingFilter}},
        "formatters": {"main": {"()": formatter_class(fmt)}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "filters": ["redact"],
                "formatter": "main",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            # Per-task and per-tick lines speak only at DEBUG: Celery's "received" and
            # "succeeded: <return value>" (which repeat every task's arguments), beat's
            # "Sending due task" every interval. workers.task_metrics logs its own line per
            # task at DEBUG, and workers.monitoring one summary a minute at INFO.
            **{key: {"level": max_level(level, "WARNING")} for key in CHATTY},
            **{
                name: {"level": level.upper(), "handlers": [], "propagate": True}
                for name in loggers
            },
        },
    }


CHATTY = ("celery.app.trace", "celery.worker.strategy", "celery.beat")


def max_level(level: str, floor: str) -> str:
    """Return ``level`` unless it is DEBUG, else keep full detail (DEBUG)."""
    return "DEBUG" if level.upper() == "DEBUG" else floor


def configure(level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    """Configure the root logger of this process (call once, at start-up)."""
    add_secret(*secrets)
    logging.config.dictConfig(dict_config(level, fmt))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(kind: type[BaseException], error: BaseException, tb: Any) -> None:
    logging.getLogger("wagehood").critical("uncaught exception", exc_info=(kind, error, tb))
