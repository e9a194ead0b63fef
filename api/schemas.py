"""Marshmallow schemas of every request and response; the OpenAPI document comes from them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from wagehood.service.auth import PERMISSIONS
from wagehood.service.exports import FORMATS, MAX_SYMBOLS, WHATS
from wagehood.service.queries import MAX_LIMIT
from wagehood.timeparse import parse_time
from wagehood.types import Timeframe

TIMEFRAMES = [tf.value for tf in Timeframe]
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z


class TimeArg(fields.Field):  # type: ignore[type-arg]
    """A time given as ISO 8601 (``2024-06-01T00:00:00Z``) or epoch seconds; loads as int."""

    def __init__(self, **kwargs: Any) -> None:
        """Document the field as a string accepting both forms."""
        meta = {"type": "string", "example": "2024-06-01T00:00:00Z"}
        super().__init__(metadata=meta | kwargs.pop("metadata", {}), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            moment = parse_time(str(value))
        except ValueError:
            raise ValidationError("use ISO 8601 (2024-06-01T00:00:00Z) or epoch seconds") from None
        if not 0 <= moment <= MAX_EPOCH:
            raise ValidationError("time out of range")
        return moment


def timeframe_field(required_default: str | None = "1m") -> fields.String:
    """Return a timeframe query field (default ``1m``; ``None`` = optional)."""
    return fields.String(validate=validate.OneOf(TIMEFRAMES), load_default=required_default)


# ---- query arguments -------------------------------------------------------------------


class LatestQuery(Schema):
    """Arguments of ``latest``: which timeframe's in-progress bar (default: the shortest)."""

    timeframe = timeframe_field(None)


class IndicatorsQuery(Schema):
    """Arguments of ``indicators``."""

    timeframe = timeframe_field()


class SignalsQuery(Schema):
    """Arguments of ``signals``: bar-time bounds and how many (newest kept)."""

    timeframe = timeframe_field(None)
    since = TimeArg(load_default=None)
    until = TimeArg(load_default=None)
    limit = fields.Integer(validate=validate.Range(1, MAX_LIMIT), load_default=100)


class HistoricalQuery(Schema):
    """Arguments of ``historical``: range, page size and the cursor of the next page."""

    timeframe = timeframe_field()
    start = TimeArg(load_default=None)
    end = TimeArg(load_default=None)
    limit = fields.Integer(validate=validate.Range(1, MAX_LIMIT), load_default=500)
    cursor = fields.Integer(validate=validate.Range(0, MAX_EPOCH), load_default=None)

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and start > end:
            raise ValidationError("start must not be after end", "start")


# ---- data responses --------------------------------------------------------------------


class BarSchema(Schema):
    """One OHLCV bar; ``time`` is ISO 8601 UTC."""

    time = fields.String()
    open = fields.Float()
    high = fields.Float()
    low = fields.Float()
    close = fields.Float()
    volume = fields.Float()
    closed = fields.Boolean()


class HistoricalBarSchema(BarSchema):
    """A closed bar with its epoch time and indicator values."""

    epoch = fields.Integer()
    indicators = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class LatestSchema(Schema):
    """The last quote and the in-progress bar."""

    symbol = fields.String()
    price = fields.Float(allow_none=True)
    timestamp = fields.String(allow_none=True)
    time = fields.Float(allow_none=True)
    updated_at = fields.Float(allow_none=True)
    timeframe = fields.String(allow_none=True)
    bar = fields.Nested(BarSchema, allow_none=True)
    sync = fields.Dict(metadata={"description": "Warm-up / gap-fill state and progress"})


class IndicatorsSchema(Schema):
    """Indicator values of the last closed bar (nulls while warming up or before any bar)."""

    symbol = fields.String()
    timeframe = fields.String()
    bar_time = fields.Integer(allow_none=True)
    timestamp = fields.String(allow_none=True)
    bars_processed = fields.Integer()
    bar = fields.Nested(BarSchema, allow_none=True)
    indicators = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class SignalSchema(Schema):
    """One strategy signal on a closed bar."""

    id = fields.String()
    symbol = fields.String()
    timeframe = fields.String()
    timestamp = fields.String()
    time = fields.Integer()
    strategy = fields.String()
    signal_type = fields.String()
    side = fields.String()
    confidence = fields.Float()
    price = fields.Float()
    reason = fields.String()
    values = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class SignalsSchema(Schema):
    """Signals of a symbol, oldest first."""

    symbol = fields.String()
    timeframe = fields.String(allow_none=True)
    count = fields.Integer()
    signals = fields.List(fields.Nested(SignalSchema))


class HistoricalSchema(Schema):
    """A page of closed bars; pass ``next_cursor`` back as ``cursor`` for the next page."""

    symbol = fields.String()
    timeframe = fields.String()
    count = fields.Integer()
    bars = fields.List(fields.Nested(HistoricalBarSchema))
    next_cursor = fields.Integer(allow_none=True)
    next = fields.String(allow_none=True, metadata={"description": "URL of the next page"})


# ---- exports ---------------------------------------------------------------------------


class ExportRequestSchema(Schema):
    """What to export."""

    symbols = fields.List(fields.String(), required=True, validate=validate.Length(1, MAX_SYMBOLS))
    timeframe = fields.String(validate=validate.OneOf(TIMEFRAMES), load_default="1m")
    what = fields.String(validate=validate.OneOf(WHATS), load_default="bars")
    format = fields.String(validate=validate.OneOf(FORMATS), load_default="json")
    start = TimeArg(load_default=None)
    end = TimeArg(load_default=None)


class ExportStatusSchema(Schema):
    """An export's status; ``download`` is set once it is done."""

    id = fields.String()
    status = fields.String(metadata={"enum": ["pending", "running", "done", "failed"]})
    created_at = fields.Float()
    finished_at = fields.Float(allow_none=True)
    rows = fields.Integer(allow_none=True)
    size = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    request = fields.Dict()
    download = fields.String(allow_none=True)


# ---- auth ------------------------------------------------------------------------------


class TokenSchema(Schema):
    """A short-lived JWT usable as ``Authorization: Bearer``."""

    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class KeyCreateSchema(Schema):
    """A key to create."""

    name = fields.String(required=True, validate=validate.Length(1, 100))
    permissions = fields.List(
        fields.String(validate=validate.OneOf(PERMISSIONS)),
        required=True,
        validate=validate.Length(1, 3),
    )
    rate_limit = fields.String(load_default=None, validate=validate.Length(1, 100))


class KeySchema(Schema):
    """A key's record (never its secret, except ``key`` once at creation)."""

    key = fields.String()
    id = fields.String()
    name = fields.String()
    permissions = fields.List(fields.String())
    rate_limit = fields.String(allow_none=True)
    created_at = fields.Float()
    revoked = fields.Boolean()


class KeyListSchema(Schema):
    """Every key."""

    keys = fields.List(fields.Nested(KeySchema))


class ApiErrorDetail(Schema):
    """What went wrong."""

    type = fields.String()
    message = fields.String()
    field = fields.String()


class ApiErrorSchema(Schema):
    """Every error body."""

    error = fields.Nested(ApiErrorDetail)
