"""Signal routes: the strategies' recent signals for a symbol."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.extensions import state
from api.schemas import ApiErrorSchema, SignalsQuery, SignalsSchema
from wagehood.service import queries
from wagehood.types import Timeframe, validate_symbol

blp = Blueprint(
    "signals", __name__, url_prefix="/api/v1/realtime/signals", description="Strategy signals"
)


@blp.route("/<symbol>", methods=["GET"])
@blp.arguments(SignalsQuery, location="query")
@blp.response(200, SignalsSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="The symbol has no state")
def signals(args: dict[str, Any], symbol: str) -> dict[str, Any]:
    """Return the most recent signals (at most ``limit``), oldest first."""
    timeframe = Timeframe(args["timeframe"]) if args["timeframe"] else None
    return queries.signals(
        state().store,
        validate_symbol(symbol),
        timeframe,
        since=args["since"],
        until=args["until"],
        limit=args["limit"],
    )
