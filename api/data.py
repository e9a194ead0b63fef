"""Data routes: the latest quote and in-progress bar, and paginated closed bars."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_smorest import Blueprint

from api.extensions import state
from api.schemas import ApiErrorSchema, HistoricalQuery, HistoricalSchema, LatestQuery, LatestSchema
from wagehood.service import queries
from wagehood.types import Timeframe, validate_symbol

blp = Blueprint("data", __name__, url_prefix="/api/v1/realtime/data", description="Quotes and bars")
# An instance, not the class: given a class, webargs builds a new schema for every request
# (~0.25 ms measured), and this route runs whenever the live view has no valid answer.
LATEST_QUERY = LatestQuery()


@blp.route("/latest/<symbol>", methods=["GET"])
@blp.arguments(LATEST_QUERY, location="query")
@blp.response(200, LatestSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="The symbol has no state")
def latest(args: dict[str, Any], symbol: str) -> dict[str, Any]:
    """Return the last quote and the in-progress bar of a symbol."""
    timeframe = Timeframe(args["timeframe"]) if args["timeframe"] else None
    return queries.latest(state().store, validate_symbol(symbol), timeframe)


@blp.route("/historical/<symbol>", methods=["GET"])
@blp.arguments(HistoricalQuery, location="query")
@blp.response(200, HistoricalSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="The symbol has no state")
def historical(args: dict[str, Any], symbol: str) -> dict[str, Any]:
    """Return closed bars with their indicators, oldest first, one page at a time."""
    checked = validate_symbol(symbol)
    page = queries.historical(
        state().store,
        checked,
        Timeframe(args["timeframe"]),
        start=args["start"],
        end=args["end"],
        limit=args["limit"],
        cursor=args["cursor"],
    )
    page["next"] = _next_url(checked, args, page["next_cursor"])
    return page


def _next_url(symbol: str, args: dict[str, Any], cursor: int | None) -> str | None:
    if cursor is None:
        return None
    kept = {k: v for k, v in args.items() if v is not None and k != "cursor"}
    return url_for("data.historical", symbol=symbol, cursor=cursor, **kept)
