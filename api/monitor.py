"""Monitor routes: health (public), liveness/readiness probes, stats, alerts and /metrics."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from api import health as checks
from api.extensions import state
from wagehood.service import deadletters, stats
from wagehood.storage import keys
from wagehood.storage.redis_store import translate_errors

blp = Blueprint(
    "monitor", __name__, url_prefix="/api/v1/realtime/monitor", description="Health and stats"
)
metrics_blp = Blueprint("metrics", __name__, description="Prometheus metrics")


class HealthQuery(Schema):
    """Health arguments."""

    detailed = fields.Boolean(load_default=False)


class HealthSchema(Schema):
    """Overall status and per-component checks."""

    status = fields.String(metadata={"enum": ["ok", "degraded", "down"]})
    time = fields.Float()
    version = fields.String()
    components = fields.Dict()


class StatsSchema(Schema):
    """Pipeline and web-process figures."""

    counters = fields.Dict()
    latency_ms = fields.Dict()
    updates_seq = fields.Integer()
    dead_letters = fields.Integer()
    watchlist = fields.Integer()
    symbol_age_seconds = fields.Dict()
    websocket = fields.Dict()


class AlertsSchema(Schema):
    """Active alerts."""

    count = fields.Integer()
    alerts = fields.List(fields.Dict())


@blp.route("/health", methods=["GET"])
@blp.arguments(HealthQuery, location="query")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="Down: Redis unreachable")
def health(args: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Return ok, degraded (200) or down (503) with per-component checks."""
    app_state = state()
    body = checks.health(app_state.store, app_state.settings, app_state.celery, args["detailed"])
    return body, 503 if body["status"] == "down" else 200


@blp.route("/liveness", methods=["GET"])
def liveness() -> Response:
    """Answer 200 while the process can serve requests."""
    return jsonify({"status": "alive"})


@blp.route("/readiness", methods=["GET"])
def readiness() -> tuple[Response, int]:
    """Answer 200 when Redis answers, else 503."""
    result = checks.guarded(lambda: checks.redis_check(state().store))
    ready = result["status"] == "ok"
    return jsonify({"status": "ready" if ready else "not_ready", "redis": result}), (
        200 if ready else 503
    )


@blp.route("/stats", methods=["GET"])
@blp.response(200, StatsSchema)
def stats_view() -> dict[str, Any]:
    """Return counters, latencies, sequence, dead letters, per-symbol ages and clients."""
    app_state = state()
    store = app_state.store
    with translate_errors():
        seq = int(store.client.get(keys.UPDATES_SEQ) or 0)
    ages = checks.symbol_ages(store)
    hub = app_state.hub
    return {
        "counters": stats.counters(store),
        "latency_ms": stats.latency_percentiles(store),
        "updates_seq": seq,
        "dead_letters": deadletters.total(store),
        "watchlist": len(ages),
        "symbol_age_seconds": ages,
        "websocket": {"clients": hub.client_count, "dropped": hub.dropped},
    }


@blp.route("/alerts", methods=["GET"])
@blp.response(200, AlertsSchema)
def alerts() -> dict[str, Any]:
    """Return the active alerts."""
    app_state = state()
    found = checks.alerts(app_state.store, app_state.settings, app_state.celery)
    return {"count": len(found), "alerts": found}


@metrics_blp.route("/metrics", methods=["GET"])
@metrics_blp.response(200, description="Prometheus text format")
def metrics() -> Response:
    """Return the web process's metrics in Prometheus text format."""
    registry = CollectorRegistry()
    gauge = Gauge("wagehood_websocket_clients", "Open WebSocket connections", registry=registry)
    gauge.set(state().hub.client_count)
    dropped = Gauge(
        "wagehood_websocket_dropped", "Slow WebSocket clients dropped", registry=registry
    )
    dropped.set(state().hub.dropped)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
