"""WebSocket ``/api/v1/realtime/ws/<connection_id>``: subscribe to symbols, get their updates.

Client actions (JSON text frames)::

    {"action": "subscribe", "symbols": ["SPY"], "include_indicators": true, "since_seq": 41}
    {"action": "unsubscribe", "symbols": ["SPY"]}      (no symbols: all)
    {"action": "ping"}

Server frames are ``{"type", "seq", "data"}``: ``bar``, ``indicators``, ``signal`` (relayed
from the workers' updates stream, ``seq`` increasing), and ``subscribed``, ``unsubscribed``,
``pong``, ``error`` (``seq`` = that of the last update sent). Authentication happens on the
handshake (``Authorization: Bearer`` or ``?token=``), like every other route.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from api.errors import error_frame
from api.extensions import state
from api.hub import CLOSE, FORCE_CLOSE_SECONDS, Connection, Hub
from wagehood.errors import ValidationError
from wagehood.types import validate_symbol

logger = logging.getLogger(__name__)

PATH = "/api/v1/realtime/ws/<connection_id>"
MAX_SYMBOLS = 1000
MAX_MESSAGES_PER_SECOND = 50
POLICY_VIOLATION = 1008

bp = Blueprint("ws", __name__)
sock = Sock()


@dataclass(frozen=True)
class Action:
    """A parsed client message."""

    name: str
    symbols: tuple[str, ...] = ()
    include_indicators: bool = True
    since_seq: int | None = None


@sock.route(PATH, bp=bp)
def realtime(ws: Any, connection_id: str) -> None:
    """Serve one WebSocket client until it leaves or is dropped."""
    hub: Hub = state().hub
    connection = Connection(connection_id[:64], current_app.config["WS_QUEUE_SIZE"])
    connection.on_force_close = lambda: _shutdown(ws)
    _limit_send_buffer(ws, current_app.config.get("WS_SEND_BUFFER"))
    hub.register(connection)
    sender = threading.Thread(target=_send_loop, args=(ws, connection), daemon=True)
    sender.start()
    flood = _FloodGuard()
    try:
        while not connection.closed.is_set():
            message = ws.receive(timeout=1.0)
            if message is None:
                continue
            if flood.exceeded():
                hub.drop(connection, "too many messages")
                break
            handle(hub, connection, message)
    finally:
        hub.unregister(connection)
        connection.finish()
        sender.join(timeout=FORCE_CLOSE_SECONDS + 1)


def handle(hub: Hub, connection: Connection, message: str | bytes) -> None:
    """Carry out one client message; a bad one gets an ``error`` frame."""
    try:
        action = parse_action(message)
    except ValidationError as error:
        _control(hub, connection, "error", error_frame(error))
        return
    if action.name == "ping":
        _control(hub, connection, "pong", {"time": time.time()})
    elif action.name == "subscribe":
        _subscribe(hub, connection, action)
    else:
        with connection.lock:
            connection.symbols -= set(action.symbols or connection.symbols)
            remaining = sorted(connection.symbols)
        _control(hub, connection, "unsubscribed", {"symbols": remaining})


def _subscribe(hub: Hub, connection: Connection, action: Action) -> None:
    symbols, include, since = action.symbols, action.include_indicators, action.since_seq
    if not connection.subscribe(symbols, include, since, MAX_SYMBOLS):
        error = ValidationError(f"at most {MAX_SYMBOLS} symbols per connection", "symbols")
        _control(hub, connection, "error", error_frame(error))
        return
    data = {"symbols": sorted(connection.symbols), "include_indicators": include}
    _control(hub, connection, "subscribed", data | {"since_seq": since})
    if since is not None:
        hub.resume(connection, since)


def _control(hub: Hub, connection: Connection, kind: str, data: dict[str, Any]) -> None:
    if not connection.control(kind, data):
        hub.drop(connection, "slow consumer: send queue overflowed")


def parse_action(message: str | bytes) -> Action:
    """Parse and validate a client message or raise ``ValidationError``."""
    try:
        text = message.decode() if isinstance(message, bytes) else message
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ValidationError("message must be a JSON object", "message") from None
    if not isinstance(data, dict) or data.get("action") not in {"subscribe", "unsubscribe", "ping"}:
        raise ValidationError("action must be subscribe, unsubscribe or ping", "action")
    symbols = data.get("symbols", [])
    if not isinstance(symbols, list) or len(symbols) > MAX_SYMBOLS:
        raise ValidationError(f"symbols must be a list of at most {MAX_SYMBOLS}", "symbols")
    if data["action"] == "subscribe" and not symbols:
        raise ValidationError("subscribe needs at least one symbol", "symbols")
    include = data.get("include_indicators", True)
    since = data.get("since_seq")
    if not isinstance(include, bool):
        raise ValidationError("include_indicators must be true or false", "include_indicators")
    if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
        raise ValidationError("since_seq must be a non-negative integer", "since_seq")
    checked = tuple(
        validate_symbol(s) if isinstance(s, str) else validate_symbol("") for s in symbols
    )
    return Action(data["action"], checked, include, since)


def _send_loop(ws: Any, connection: Connection) -> None:
    try:
        while True:
            item = connection.queue.get()
            if item is CLOSE:
                break
            ws.send(json.dumps(item, separators=(",", ":")))
        if connection.close_reason:
            ws.close(reason=POLICY_VIOLATION, message=connection.close_reason)
    except (ConnectionClosed, OSError):
        logger.debug("websocket %s closed while sending", connection.id)
    finally:
        connection.finish()


def _limit_send_buffer(ws: Any, size: int | None) -> None:
    # A small kernel send buffer makes a client that stops reading show up in its queue sooner.
    if size and hasattr(ws, "sock"):
        ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


def _shutdown(ws: Any) -> None:
    if getattr(ws, "connected", False):
        try:
            ws.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            logger.debug("socket already closed")


class _FloodGuard:
    def __init__(self) -> None:
        self.window = int(time.monotonic())
        self.count = 0

    def exceeded(self) -> bool:
        now = int(time.monotonic())
        if now != self.window:
            self.window, self.count = now, 0
        self.count += 1
        return self.count > MAX_MESSAGES_PER_SECOND
