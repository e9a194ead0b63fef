"""WebSocket ``/api/v1/realtime/ws/<connection_id>``: subscribe to symbols, get their updates.

Client actions (JSON text frames)::

    {"action": "subscribe", "symbols": ["SPY"], "include_indicators": true, "since_seq": 41}
    {"action": "unsubscribe", "symbols": ["SPY"]}      (no symbols: all)
    {"action": "ping"}

Server frames are ``{"type", "seq", "data"}``: ``bar``, ``indicators``, ``signal`` (relayed
from the workers' updates stream, ``seq`` increasing), and ``subscribed``, ``unsubscribed``,
``pong``, ``error`` (``seq`` = that of the last update sent).

Authentication happens on the handshake (``Authorization: Bearer <key or token>``, or
``?token=<token>``: a query string ends up in access logs and browser history, so only
short-lived tokens are taken there, never API keys), and is checked again every
``WS_AUTH_CHECK_SECONDS`` (2 s): a revoked key or an expired token ends the connection with
close code 4401 and the reason, and the client renews its token and reconnects.
Admission (close code 1008 with the reason, right after the handshake): the connection id
must be 1-64 letters, digits or ``. _ : -``; a key holds at most ``WS_MAX_PER_KEY`` sockets
and an address ``WS_MAX_PER_ADDRESS`` per web process; and a process takes WebSockets only
up to its threads less a reserve kept for REST requests (close code 1013, try again later).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, request
from flask_sock import Sock
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as MarshmallowError
from simple_websocket import ConnectionClosed

from api.errors import error_frame
from api.extensions import state
from api.hub import (
    AUTH_EXPIRED,
    CLOSE,
    FORCE_CLOSE_SECONDS,
    POLICY_VIOLATION,
    Connection,
    Hub,
    Limits,
)
from api.security import current_credential, current_principal
from wagehood.errors import AuthError, TemporaryError, ValidationError
from wagehood.service import auth
from wagehood.types import validate_symbol

logger = logging.getLogger(__name__)

PATH = "/api/v1/realtime/ws/<connection_id>"
ACTIONS = ("subscribe", "unsubscribe", "ping")
MAX_SYMBOLS = 1000
MAX_MESSAGES_PER_SECOND = 50
CONNECTION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

bp = Blueprint("ws", __name__)
sock = Sock()


@dataclass(frozen=True)
class Action:
    """A parsed client message."""

    name: str
    symbols: tuple[str, ...] = ()
    include_indicators: bool = True
    since_seq: int | None = None


class _StrictBoolean(fields.Boolean):
    # JSON true/false only (marshmallow's Boolean also takes 1, "yes", "on"...).
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise MarshmallowError("must be true or false")
        return value


class ActionSchema(Schema):
    """A client message, validated like the REST bodies (unknown fields are refused)."""

    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    symbols = fields.List(
        fields.String(validate=validate.Length(1, 40)),
        validate=validate.Length(max=MAX_SYMBOLS),
        load_default=list,
    )
    include_indicators = _StrictBoolean(load_default=True)
    since_seq = fields.Integer(strict=True, validate=validate.Range(min=0), load_default=None)

    @validates_schema
    def _subscribe_needs_symbols(self, data: dict[str, Any], **_: Any) -> None:
        if data["action"] == "subscribe" and not data["symbols"]:
            raise MarshmallowError("subscribe needs at least one symbol", "symbols")


_ACTION_SCHEMA = ActionSchema()


@sock.route(PATH, bp=bp)
def realtime(ws: Any, connection_id: str) -> None:
    """Serve one WebSocket client until it leaves, is dropped or its credentials lapse."""
    hub: Hub = state().hub
    principal = current_principal()
    connection = Connection(connection_id[:64], current_app.config["WS_QUEUE_SIZE"])
    connection.owner, connection.address = principal.key_id, request.remote_addr or ""
    refusal = _refusal(hub, connection, connection_id)
    if refusal is not None:
        ws.close(reason=refusal[0], message=refusal[1])
        return
    connection.on_force_close = lambda: _shutdown(ws)
    _limit_send_buffer(ws, current_app.config.get("WS_SEND_BUFFER"))
    sender = threading.Thread(target=_send_loop, args=(ws, connection), daemon=True)
    sender.start()
    _serve(hub, connection, ws, _Credentials(current_app.config["WS_AUTH_CHECK_SECONDS"]))
    sender.join(timeout=FORCE_CLOSE_SECONDS + 1)


def _refusal(hub: Hub, connection: Connection, connection_id: str) -> tuple[int, str] | None:
    # An invalid id or a full quota: the handshake is done, so say why in the close frame.
    if not CONNECTION_ID.fullmatch(connection_id):
        refused: tuple[int, str] | None = (
            POLICY_VIOLATION,
            "connection id must be 1-64 letters, digits or . _ : -",
        )
    else:
        settings = state().settings
        limits = Limits(
            settings.ws_max_per_key,
            settings.ws_max_per_address,
            current_app.config["WS_MAX_CLIENTS"],
        )
        refused = hub.admit(connection, limits)
    if refused is not None:
        logger.warning(
            "refused websocket %s of key %s: %s", connection_id[:100], connection.owner, refused[1]
        )
    return refused


def _serve(hub: Hub, connection: Connection, ws: Any, credentials: _Credentials) -> None:
    flood = _FloodGuard()
    try:
        while not connection.closed.is_set():
            lapsed = credentials.lapsed()
            if lapsed is not None:
                hub.drop(connection, lapsed, AUTH_EXPIRED)
                break
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


class _Credentials:
    """Re-check the handshake's key or token every few seconds (revoked or expired: stop)."""

    def __init__(self, every: float) -> None:
        self.credential = current_credential()
        self.store, self.settings = state().store, state().settings
        self.every = every
        self.checked = time.monotonic()

    def lapsed(self) -> str | None:
        if time.monotonic() - self.checked < self.every:
            return None
        self.checked = time.monotonic()
        try:
            auth.authenticate(self.store, self.settings, self.credential)
        except AuthError as error:
            return f"{error}: renew the credentials and reconnect"
        except TemporaryError:
            return None  # Redis unreachable for now: keep serving, check again later
        return None


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
        hub.catch_up(connection, since)


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
    if not isinstance(data, dict):
        raise ValidationError("message must be a JSON object", "message")
    try:
        loaded = _ACTION_SCHEMA.load(data)
    except MarshmallowError as error:
        field, problem = _first(error.messages_dict)
        raise ValidationError(f"{field}: {problem}", field) from None
    symbols = tuple(validate_symbol(symbol) for symbol in loaded["symbols"])
    return Action(loaded["action"], symbols, loaded["include_indicators"], loaded["since_seq"])


def _first(messages: dict[str, Any]) -> tuple[str, str]:
    # marshmallow's nested message dict -> the first field and its first problem.
    field, problem = next(iter(messages.items()))
    while isinstance(problem, dict):
        problem = next(iter(problem.values()))
    return str(field), str(problem[0] if isinstance(problem, list) else problem)


def _send_loop(ws: Any, connection: Connection) -> None:
    try:
        while True:
            item = connection.queue.get()
            if item is CLOSE:
                break
            ws.send(json.dumps(item, separators=(",", ":")))
        if connection.close_reason:
            ws.close(reason=connection.close_code, message=connection.close_reason)
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
