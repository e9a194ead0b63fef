"""Configuration routes: the watchlist and the runtime config sections (workers reload by version)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.extensions import state
from api.schemas import ApiErrorSchema
from wagehood.service import config, plugins, queries, sizing, sync, watchlist
from wagehood.types import validate_symbol

blp = Blueprint(
    "config", __name__, url_prefix="/api/v1/realtime/config", description="Runtime configuration"
)
MAX_BATCH = 1000
WatchItem = fields.Raw(metadata={"description": 'a symbol, or {"symbol", "data_provider"}'})


class WatchEntrySchema(Schema):
    """One watched symbol."""

    symbol = fields.String()
    data_provider = fields.String()
    added_at = fields.Float()
    sync = fields.Dict(metadata={"description": "Warm-up / gap-fill state and progress"})


class WatchlistSchema(Schema):
    """The watchlist."""

    count = fields.Integer()
    symbols = fields.List(fields.Nested(WatchEntrySchema))
    warnings = fields.List(fields.String(), metadata={"description": "Projected Redis footprint"})


class WatchlistAddSchema(Schema):
    """Add one symbol (``symbol`` + optional ``data_provider``) or many (``symbols``)."""

    symbol = fields.String(validate=validate.Length(1, 40))
    data_provider = fields.String(validate=validate.OneOf(watchlist.PROVIDERS))
    symbols = fields.List(WatchItem, validate=validate.Length(1, MAX_BATCH))

    @validates_schema
    def _one_form(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("symbol" in data) == ("symbols" in data):
            raise ValidationError("give either symbol or symbols", "symbol")


class WatchlistPutSchema(Schema):
    """Replace the watchlist."""

    symbols = fields.List(
        WatchItem, required=True, validate=validate.Length(0, watchlist.MAX_SYMBOLS)
    )


class IndicatorsConfigSchema(Schema):
    """Indicator columns: name -> spec such as ``sma(20)``."""

    indicators = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    version = fields.Integer(dump_only=True)
    uninstalled = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        dump_only=True,
        metadata={
            "description": "configured (or strategy-needed) columns whose indicator is not "
            "installed (a removed plugin): not computed, not in indicators"
        },
    )


class StrategiesConfigSchema(Schema):
    """Strategies: name -> {"enabled", "params"}."""

    strategies = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)
    version = fields.Integer(dump_only=True)
    available = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(),
        dump_only=True,
        metadata={"description": 'every strategy, built-in or plugin: {"plugin", "parameters"}'},
    )


class PluginSchema(Schema):
    """One plugin found by this web process (entry point or PLUGIN_PATHS file)."""

    name = fields.String()
    kind = fields.String()
    package = fields.String()
    version = fields.String()
    interface = fields.Integer(allow_none=True)
    status = fields.String(
        metadata={
            "description": "loaded, refused, failed, disabled, or missing (configured in "
            "config/indicators or needed by a strategy, but not installed: not computed)"
        }
    )
    origin = fields.String()
    error = fields.String()
    failures = fields.Integer()


class PluginsSchema(Schema):
    """The plugins found."""

    plugins = fields.List(fields.Nested(PluginSchema))


class SystemConfigSchema(Schema):
    """System settings (partial updates allowed)."""

    system = fields.Dict(required=True)
    version = fields.Integer(dump_only=True)


class SummarySchema(Schema):
    """Configuration overview."""

    version = fields.Integer()
    watchlist = fields.Dict()
    indicators = fields.List(fields.String())
    strategies = fields.Dict()
    system = fields.Dict()


class ValidationReportSchema(Schema):
    """Result of re-validating the stored configuration."""

    valid = fields.Boolean()
    version = fields.Integer()
    errors = fields.List(fields.Dict())
    notes = fields.List(
        fields.String(), metadata={"description": "How providers poll within their request budgets"}
    )
    warnings = fields.List(fields.String(), metadata={"description": "Projected Redis footprint"})


def _watchlist() -> dict[str, Any]:
    entries = sync.watched(state().store)
    return {"count": len(entries), "symbols": entries}


def _items(args: dict[str, Any]) -> list[tuple[str, str]]:
    default = config.load_config(state().store, state().settings).system["default_provider"]
    if "symbol" in args:
        raw = {"symbol": args["symbol"], "data_provider": args.get("data_provider")}
        return [watchlist.parse_entry(raw, default)]
    return [watchlist.parse_entry(item, default) for item in args["symbols"]]


@blp.route("/watchlist", methods=["GET"])
@blp.response(200, WatchlistSchema)
def get_watchlist() -> dict[str, Any]:
    """Return the watched symbols and their providers."""
    return _watchlist()


@blp.route("/watchlist", methods=["PUT"])
@blp.arguments(WatchlistPutSchema)
@blp.response(200, WatchlistSchema)
def put_watchlist(args: dict[str, Any]) -> dict[str, Any]:
    """Replace the whole watchlist."""
    watchlist.replace_all(state().store, _items(args))
    return _watchlist()


@blp.route("/watchlist/add", methods=["POST"])
@blp.arguments(WatchlistAddSchema)
@blp.response(200, WatchlistSchema)
def add_watchlist(args: dict[str, Any]) -> dict[str, Any]:
    """Add symbols (or change their provider); warn if the history would outgrow Redis."""
    watchlist.add(state().store, _items(args))
    return _watchlist() | {"warnings": sizing.footprint_warnings(state().store, state().settings)}


@blp.route("/watchlist/<symbol>", methods=["DELETE"])
@blp.response(200, WatchlistSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="Not on the watchlist")
def delete_watchlist(symbol: str) -> dict[str, Any]:
    """Stop watching a symbol (its stored history stays)."""
    watchlist.remove(state().store, validate_symbol(symbol))
    return _watchlist()


def _section(name: str) -> dict[str, Any]:
    current = config.load_config(state().store, state().settings)
    extra = {"uninstalled": current.uninstalled} if name == "indicators" else {}
    return {name: getattr(current, name), "version": current.version, **extra}


def _save(name: str, value: Any) -> dict[str, Any]:
    saved = config.save_section(state().store, state().settings, name, value)
    return {name: getattr(saved, name), "version": saved.version}


@blp.route("/indicators", methods=["GET"])
@blp.response(200, IndicatorsConfigSchema)
def get_indicators() -> dict[str, Any]:
    """Return the configured indicator columns."""
    return _section("indicators")


@blp.route("/indicators", methods=["PUT"])
@blp.arguments(IndicatorsConfigSchema)
@blp.response(200, IndicatorsConfigSchema)
def put_indicators(args: dict[str, Any]) -> dict[str, Any]:
    """Replace the indicator columns; workers re-warm from stored history."""
    return _save("indicators", args["indicators"])


@blp.route("/strategies", methods=["GET"])
@blp.response(200, StrategiesConfigSchema)
def get_strategies() -> dict[str, Any]:
    """Return the strategies' configuration and every available strategy's parameter schema."""
    body = _section("strategies")
    body["strategies"] = plugins.complete(body["strategies"])
    return body | {"available": plugins.strategy_schemas()}


@blp.route("/plugins", methods=["GET"])
@blp.response(200, PluginsSchema)
def get_plugins() -> dict[str, Any]:
    """Return the plugins found, their status and failure counts."""
    current = config.load_config(state().store, state().settings)  # configures the plugins
    return {"plugins": plugins.report(state().store, current.uninstalled)}


@blp.route("/strategies", methods=["PUT"])
@blp.arguments(StrategiesConfigSchema)
@blp.response(200, StrategiesConfigSchema)
def put_strategies(args: dict[str, Any]) -> dict[str, Any]:
    """Replace the strategies' configuration."""
    return _save("strategies", args["strategies"])


@blp.route("/system", methods=["GET"])
@blp.response(200, SystemConfigSchema)
def get_system() -> dict[str, Any]:
    """Return the system settings (minimum confidence, timeframes, default provider)."""
    return _section("system")


@blp.route("/system", methods=["PUT"])
@blp.arguments(SystemConfigSchema)
@blp.response(200, SystemConfigSchema)
def put_system(args: dict[str, Any]) -> dict[str, Any]:
    """Update some system settings."""
    return _save("system", args["system"])


@blp.route("/summary", methods=["GET"])
@blp.response(200, SummarySchema)
def summary() -> dict[str, Any]:
    """Return an overview of the configuration."""
    return queries.config_summary(state().store, state().settings)


@blp.route("/validate", methods=["GET"])
@blp.response(200, ValidationReportSchema)
def validate_config() -> dict[str, Any]:
    """Re-validate the stored configuration."""
    return queries.config_validation(state().store, state().settings)
