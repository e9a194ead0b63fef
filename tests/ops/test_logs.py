"""Logging: JSON lines with context, readable text, and no secret ever written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from api import create_app
from wagehood import logs
from wagehood.service import auth
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

KEY = "wh_0123456789abcdef_" + "S" * 43
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Configure JSON logging into a buffer; restore the root logger afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buffer = io.StringIO()
    logs.configure("DEBUG", "json", secrets=["provider-secret-value"])
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield buffer
    root.handlers, root.level = saved


def test_json_lines_carry_bound_context_and_extra_fields(captured: io.StringIO) -> None:
    token = logs.bind(task_id="t-1", task="wagehood.fetch_quotes", symbols=["AAPL"])
    logging.getLogger("x").info("done in %d ms", 5, extra={"duration_ms": 5.0})
    logs.unbind(token)
    logging.getLogger("x").warning("plain")
    first, second = (json.loads(line) for line in captured.getvalue().splitlines())
    assert first["message"] == "done in 5 ms"
    assert first["task_id"] == "t-1"
    assert first["symbols"] == ["AAPL"]
    assert first["duration_ms"] == 5.0
    assert first["level"] == "INFO"
    assert "task_id" not in second


@pytest.mark.parametrize(
    "text",
    [
        f"key {KEY}",
        f"Authorization: Bearer {JWT}",
        f"GET /ws?token={JWT}&x=1",
        "redis://user:hunter2pass@127.0.0.1:6379/0",
        "redis://:hunter2pass@host/0",
        "provider said provider-secret-value",
        f"{{'Authorization': 'Bearer {KEY}'}}",
    ],
)
def test_secrets_are_redacted_from_messages_args_and_tracebacks(
    captured: io.StringIO, text: str
) -> None:
    logging.getLogger("x").info("%s", text)
    try:
        raise ValueError(text)
    except ValueError:
        logging.getLogger("x").exception("failed")
    out = captured.getvalue()
    for secret in (KEY, JWT, "hunter2pass", "provider-secret-value"):
        assert secret not in out
    assert logs.REDACTED in out


def test_text_format_is_readable_with_context() -> None:
    record = logging.LogRecord("w", logging.INFO, "f", 1, "tick %s", ("AAPL",), None)
    record.task_id = "abc"
    line = logs.TextFormatter().format(record)
    assert "INFO" in line
    assert "tick AAPL" in line
    assert "task_id=abc" in line


def test_request_cycle_never_logs_the_key_or_token(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)
    store = RedisStore.from_url(settings.redis_url)
    key = auth.create_key(store, "logs", "admin").key
    client: FlaskClient = app.test_client()
    caplog.set_level(logging.DEBUG)
    token = client.post("/api/v1/auth/token", headers={"Authorization": f"Bearer {key}"})
    jwt = token.get_json()["access_token"]
    client.get("/api/v1/realtime/config/watchlist", headers={"Authorization": f"Bearer {jwt}"})
    client.get("/api/v1/realtime/config/watchlist", headers={"Authorization": f"Bearer {key}x"})
    client.get(f"/api/v1/realtime/ws/c1?token={jwt}")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert key not in text
    assert jwt not in text
