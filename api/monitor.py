"""Monitor routes: health (public), liveness/readiness probes, stats, health alerts, /metrics."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api import health as checks
from api.extensions import state
from api.metrics import metrics_response
from wagehood.service import health as service_health
from wagehood.service import health_alerts, monitoring

blp = Blueprint(
    "monitor",
    __name__,
    url_prefix="/api/v1/realtime/monitor",
    description="Health, stats and health alerts",
)
metrics_blp = Blueprint("metrics", __name__, description="Prometheus metrics")


class HealthQuery(Schema):
    """Health arguments."""

    detailed = fields.Boolean(load_default=False)


class HealthSchema(Schema):
    """Overall status and per-component checks."""

    status = fields.String(metadata={"enum": ["ok", "degraded", "down"]})
    time = fields.Float()
    cause = fields.String(
        allow_none=True, metadata={"description": "The Redis condition behind other failures"}
    )
    version = fields.String()
    versions = fields.Dict()
    stale = fields.Boolean(metadata={"description": "An earlier report: the current one is late"})
    components = fields.Dict()


class StatsSchema(Schema):
    """Pipeline and web-process figures (the same ones ``/metrics`` exports)."""

    counters = fields.Dict(metadata={"description": "Workers' counters, summed over processes"})
    rates = fields.Dict(metadata={"description": "bars/s, quotes/s, tasks/s, error ratio"})
    latency_ms = fields.Dict(metadata={"description": "Tick-to-state latency percentiles"})
    tasks = fields.Dict(metadata={"description": "Per task: duration buckets, sum, count"})
    queue = fields.Dict(metadata={"description": "Broker messages queued and unacked"})
    updates_seq = fields.Integer()
    dead_letters = fields.Integer()
    watchlist = fields.Integer()
    symbol_age_seconds = fields.Dict()
    warmup = fields.Dict(
        metadata={"description": "Symbols per warm-up state; those not live with progress"}
    )
    workers_alive = fields.List(fields.String())
    io_workers_alive = fields.List(
        fields.String(), metadata={"description": "Nodes consuming deliveries and exports"}
    )
    beat_age_seconds = fields.Float(allow_none=True)
    dispatch_age_seconds = fields.Float(allow_none=True)
    redis_memory = fields.Dict(metadata={"description": "used_bytes, max_bytes (None: no max)"})
    websocket = fields.Dict()


class HealthAlertsSchema(Schema):
    """Active health alerts and the recent raised/cleared events."""

    count = fields.Integer()
    alerts = fields.List(fields.Dict())
    recent = fields.List(fields.Dict())


@blp.route("/health", methods=["GET"])
@blp.arguments(HealthQuery, location="query")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="Down: Redis unreachable")
def health(args: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Return ok, degraded (200) or down (503) with per-component checks.

    Public; the report is shared by every request for a second. ``detailed=true`` (worker
    names, errors, latencies, versions) needs a key or token with read permission.
    """
    body = checks.report(args["detailed"])
    return body, 503 if body["status"] == "down" else 200


@blp.route("/liveness", methods=["GET"])
def liveness() -> Response:
    """Answer 200 while the process can serve requests."""
    return jsonify({"status": "alive"})


@blp.route("/readiness", methods=["GET"])
def readiness() -> tuple[Response, int]:
    """Answer 200 when Redis answers, else 503."""
    result = service_health.guarded(lambda: service_health.redis_check(state().store))
    ready = result["status"] != "down"
    body = {"status": "ready" if ready else "not_ready", "redis": {"status": result["status"]}}
    return jsonify(body), 200 if ready else 503


@blp.route("/stats", methods=["GET"])
@blp.response(200, StatsSchema)
def stats_view() -> dict[str, Any]:
    """Return throughput, latencies, queue depth, per-symbol ages, errors and clients."""
    app_state = state()
    hub = app_state.hub
    body = monitoring.snapshot(app_state.store)
    return body | {"websocket": {"clients": hub.client_count, "dropped": hub.dropped}}


@blp.route("/alerts", methods=["GET"])
@blp.response(200, HealthAlertsSchema)
def alerts() -> dict[str, Any]:
    """Evaluate and return the active health alerts, with the recent raised/cleared history.

    Health alerts are raised and cleared by the system itself; the user's alert rules are
    under ``/api/v1/realtime/alerts``.
    """
    app_state = state()
    found = health_alerts.evaluate(app_state.store, app_state.settings)
    return {"count": len(found), "alerts": found, "recent": health_alerts.recent(app_state.store)}


@metrics_blp.route("/metrics", methods=["GET"])
@metrics_blp.response(200, description="Prometheus text format")
def metrics() -> Response:
    """Return the web process's and the workers' metrics in Prometheus text format."""
    return metrics_response()
