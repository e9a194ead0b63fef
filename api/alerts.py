"""Alert-rule routes: rules, notification channels, delivery logs, dead letters, redelivery.

Reads need ``read``, changes ``write`` (the default mapping in ``api.security``). A channel's
signing secret is returned once, by the request that creates it; URLs are listed redacted.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from kombu.exceptions import OperationalError
from marshmallow import Schema, fields, validate

from api.extensions import send_task, state
from api.schemas import ApiErrorSchema
from wagehood.alerts.channels import EVENTS, MAX_FILTER, MAX_NAME
from wagehood.alerts.payloads import FORMATS
from wagehood.errors import TemporaryError
from wagehood.service import alert_rules, delivery
from wagehood.types import Timeframe

blp = Blueprint(
    "alerts",
    __name__,
    url_prefix="/api/v1/realtime/alerts",
    description="Alert rules and notification channels (webhooks)",
)
DELIVER_TASK = "wagehood.deliver_event"
TIMEFRAMES = [tf.value for tf in Timeframe]
Names = fields.List(
    fields.String(validate=validate.Length(1, MAX_NAME)), validate=validate.Length(0, MAX_FILTER)
)


class RuleUpdateSchema(Schema):
    """Fields of a rule; all optional on update (``enabled: false`` pauses it)."""

    condition = fields.String(
        validate=validate.Length(1, 500),
        metadata={"example": "ema_12 crosses_above ema_26 and rsi_14 < 70"},
    )
    timeframe = fields.String(validate=validate.OneOf(TIMEFRAMES))
    symbol = fields.String(allow_none=True, metadata={"description": "null: every watched symbol"})
    cooldown = fields.Integer(validate=validate.Range(0, 30 * 86400))
    repeat = fields.Boolean(metadata={"description": "fire on every bar the condition holds"})
    enabled = fields.Boolean()
    side = fields.String(allow_none=True, validate=validate.OneOf(["buy", "sell"]))


class RuleCreateSchema(RuleUpdateSchema):
    """A new rule."""

    name = fields.String(required=True, validate=validate.Length(1, 40))
    condition = fields.String(required=True, validate=validate.Length(1, 500))


class RuleSchema(RuleCreateSchema):
    """A stored rule."""

    created_at = fields.Float()
    updated_at = fields.Float()


class RuleListSchema(Schema):
    """Every rule."""

    count = fields.Integer()
    rules = fields.List(fields.Nested(RuleSchema))


class ChannelUpdateSchema(Schema):
    """Fields of a channel; all optional on update (``enabled: false`` pauses it)."""

    url = fields.String(validate=validate.Length(1, 2000))
    format = fields.String(validate=validate.OneOf(FORMATS))
    symbols = Names
    strategies = Names
    rules = Names
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)))
    min_confidence = fields.Float(validate=validate.Range(0, 1))
    enabled = fields.Boolean()


class ChannelCreateSchema(ChannelUpdateSchema):
    """A new channel."""

    name = fields.String(required=True, validate=validate.Length(1, 40))
    url = fields.String(required=True, validate=validate.Length(1, 2000))


class ChannelSchema(ChannelCreateSchema):
    """A channel (URL redacted); ``secret`` only in the answer that creates it."""

    secret = fields.String(metadata={"description": "HMAC-SHA256 key, shown once"})
    created_at = fields.Float()
    updated_at = fields.Float()


class ChannelListSchema(Schema):
    """Every channel."""

    count = fields.Integer()
    channels = fields.List(fields.Nested(ChannelSchema))


class DeliverySchema(Schema):
    """One delivery of an event to a channel."""

    event_id = fields.String()
    channel = fields.String()
    summary = fields.String()
    status = fields.String(
        metadata={"enum": ["pending", "sending", "retrying", "delivered", "dead"]}
    )
    attempts = fields.Integer()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    latency_ms = fields.Float(allow_none=True)
    created_at = fields.Float()
    updated_at = fields.Float()


class DeliveryListSchema(Schema):
    """A channel's deliveries, newest first."""

    channel = fields.String()
    count = fields.Integer()
    deliveries = fields.List(fields.Nested(DeliverySchema))


class DeadLetterSchema(Schema):
    """A delivery that failed for good."""

    channel = fields.String()
    event_id = fields.String()
    summary = fields.String()
    attempts = fields.Integer()
    error = fields.String(allow_none=True)
    at = fields.Float()


class DeadLetterListSchema(Schema):
    """Dead-lettered deliveries, newest first."""

    count = fields.Integer()
    deadletters = fields.List(fields.Nested(DeadLetterSchema))


class LimitQuery(Schema):
    """How many entries."""

    limit = fields.Integer(validate=validate.Range(1, 1000), load_default=100)


class RedeliverSchema(Schema):
    """Which deliveries to send again (default: every dead one of the channel)."""

    event_id = fields.String(load_default=None, validate=validate.Length(1, 80))


class RedeliverResultSchema(Schema):
    """How many deliveries were enqueued again."""

    channel = fields.String()
    replayed = fields.Integer()


class DeletedSchema(Schema):
    """What was deleted."""

    deleted = fields.String()


def _enqueue(channel: str, event_id: str) -> None:
    try:
        send_task(DELIVER_TASK, [channel, event_id])
    except OperationalError as error:
        raise TemporaryError("task broker unavailable", retry_after=5) from error


@blp.route("/rules", methods=["GET"])
@blp.response(200, RuleListSchema)
def list_rules() -> dict[str, Any]:
    """Return every alert rule."""
    rules = [rule.to_dict() for rule in alert_rules.list_rules(state().store)]
    return {"count": len(rules), "rules": rules}


@blp.route("/rules", methods=["POST"])
@blp.arguments(RuleCreateSchema)
@blp.response(201, RuleSchema)
@blp.alt_response(409, schema=ApiErrorSchema, description="A rule of that name exists")
def create_rule(args: dict[str, Any]) -> dict[str, Any]:
    """Create a rule; a bad condition is a 422 naming the position of the mistake."""
    return alert_rules.create_rule(state().store, state().settings, args).to_dict()


@blp.route("/rules/<name>", methods=["GET"])
@blp.response(200, RuleSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="No such rule")
def get_rule(name: str) -> dict[str, Any]:
    """Return one rule."""
    return alert_rules.get_rule(state().store, name).to_dict()


@blp.route("/rules/<name>", methods=["PATCH"])
@blp.arguments(RuleUpdateSchema)
@blp.response(200, RuleSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="No such rule")
def update_rule(args: dict[str, Any], name: str) -> dict[str, Any]:
    """Change a rule (``{"enabled": false}`` pauses it); workers see it on the next bar."""
    return alert_rules.update_rule(state().store, state().settings, name, args).to_dict()


@blp.route("/rules/<name>", methods=["DELETE"])
@blp.response(200, DeletedSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="No such rule")
def delete_rule(name: str) -> dict[str, Any]:
    """Delete a rule (alerts it fired stay in the signal history)."""
    alert_rules.delete_rule(state().store, name)
    return {"deleted": name}


@blp.route("/channels", methods=["GET"])
@blp.response(200, ChannelListSchema)
def list_channels() -> dict[str, Any]:
    """Return every delivery channel (URLs redacted, never secrets)."""
    channels = [c.to_dict() for c in delivery.list_channels(state().store)]
    return {"count": len(channels), "channels": channels}


@blp.route("/channels", methods=["POST"])
@blp.arguments(ChannelCreateSchema)
@blp.response(201, ChannelSchema)
@blp.alt_response(409, schema=ApiErrorSchema, description="A channel of that name exists")
def create_channel(args: dict[str, Any]) -> dict[str, Any]:
    """Create a channel; the answer holds its signing ``secret``, shown this once."""
    channel, secret = delivery.create_channel(state().store, state().settings, args)
    return channel.to_dict() | {"secret": secret}


@blp.route("/channels/<name>", methods=["GET"])
@blp.response(200, ChannelSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="No such channel")
def get_channel(name: str) -> dict[str, Any]:
    """Return one channel."""
    return delivery.get_channel(state().store, name).to_dict()


@blp.route("/channels/<name>", methods=["PATCH"])
@blp.arguments(ChannelUpdateSchema)
@blp.response(200, ChannelSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="No such channel")
def update_channel(args: dict[str, Any], name: str) -> dict[str, Any]:
    """Change a channel's URL, format or filters (``{"enabled": false}`` pauses it)."""
    return delivery.update_channel(state().store, state().settings, name, args).to_dict()


@blp.route("/channels/<name>", methods=["DELETE"])
@blp.response(200, DeletedSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="No such channel")
def delete_channel(name: str) -> dict[str, Any]:
    """Delete a channel, its secret and its delivery log."""
    delivery.delete_channel(state().store, name)
    return {"deleted": name}


@blp.route("/channels/<name>/deliveries", methods=["GET"])
@blp.arguments(LimitQuery, location="query")
@blp.response(200, DeliveryListSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="No such channel")
def deliveries(args: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the channel's delivery log: status, attempts, latency, last error."""
    delivery.get_channel(state().store, name)
    records = delivery.delivery_log(state().store, name, args["limit"])
    return {"channel": name, "count": len(records), "deliveries": records}


@blp.route("/channels/<name>/redeliver", methods=["POST"])
@blp.arguments(RedeliverSchema)
@blp.response(202, RedeliverResultSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="No such channel")
def redeliver(args: dict[str, Any], name: str) -> dict[str, Any]:
    """Send the channel's dead (or stuck) deliveries again, with fresh attempts."""
    return _redeliver(args, name)


@blp.route("/channels/<name>/replay", methods=["POST"])
@blp.arguments(RedeliverSchema)
@blp.response(202, RedeliverResultSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="No such channel")
@blp.doc(deprecated=True)
def replay(args: dict[str, Any], name: str) -> dict[str, Any]:
    """Deprecated name of ``POST /channels/<name>/redeliver``; answers the same."""
    return _redeliver(args, name)


def _redeliver(args: dict[str, Any], name: str) -> dict[str, Any]:
    count = delivery.redeliver(state().store, name, _enqueue, args["event_id"])
    return {"channel": name, "replayed": count}


@blp.route("/deadletters", methods=["GET"])
@blp.arguments(LimitQuery, location="query")
@blp.response(200, DeadLetterListSchema)
def deadletters(args: dict[str, Any]) -> dict[str, Any]:
    """Return deliveries that failed for good, newest first."""
    entries = delivery.dead_letters(state().store, args["limit"])
    return {"count": len(entries), "deadletters": entries}
