"""``/metrics``: Prometheus text for the web process and the workers, names ``wagehood_*``.

Worker figures are read from Redis at scrape time by ``PipelineCollector`` (the workers count
into Redis), so any number of worker processes and hosts aggregate by construction, and the
figures are the ones ``/stats`` shows (both call ``monitoring.snapshot``). Web figures
(requests by route and status, request latency, WebSocket clients) are prometheus-client
metrics of this process; with several gunicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` (the
gunicorn config does when ``WEB_CONCURRENCY`` > 1) and they are summed over the processes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from api.extensions import ApiState, state
from api.live_view import VIEW_HITS, VIEW_MISSES
from wagehood.errors import TemporaryError
from wagehood.service import health_alerts, monitoring, stats
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

logger = logging.getLogger(__name__)

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
WEB = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "wagehood_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
    registry=WEB,
)
REQUEST_SECONDS = Histogram(
    "wagehood_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    registry=WEB,
)
WEB.register(VIEW_HITS)
WEB.register(VIEW_MISSES)
WS_HELP = "Open WebSocket connections"
if MULTIPROCESS:
    WS_CLIENTS = Gauge(
        "wagehood_websocket_clients", WS_HELP, registry=WEB, multiprocess_mode="livesum"
    )
else:
    ProcessCollector(namespace="wagehood_web", registry=WEB)
UNTIMED = frozenset({"ws.realtime"})


COUNTERS = {
    "quotes": ("wagehood_quotes", "Quotes applied to live state"),
    "bars": ("wagehood_bars_closed", "Bars closed and applied to indicators"),
    "tasks": ("wagehood_compute_batches", "Batches of quotes computed (compute_indicators runs)"),
    "errors": ("wagehood_task_errors", "Tasks that failed for good (all tasks)"),
    "ticks_missed": (
        "wagehood_ticks_missed",
        "Dispatch ticks missed: beat could not send them, or they expired in the queue",
    ),
}
LABELLED = {
    "errors": ("wagehood_task_errors_by_task", "Tasks that failed for good", "task"),
    "retries": ("wagehood_task_retries", "Task retries", "task"),
    "provider_symbol_errors": (
        "wagehood_provider_symbol_errors",
        "Symbols a provider failed to quote",
        "provider",
    ),
}


def _counter_families(counters: dict[str, int]) -> Iterator[Metric]:
    for name, (metric, doc) in COUNTERS.items():
        yield CounterMetricFamily(metric, doc, counters.get(name, 0))
    for prefix, (metric, doc, label) in LABELLED.items():
        family = CounterMetricFamily(metric, doc, labels=[label])
        for name, value in sorted(counters.items()):
            if name.startswith(prefix + ":"):
                family.add_metric([name.split(":", 1)[1]], value)
        yield family


def _timing_families(snapshot: dict[str, Any], store: RedisStore) -> Iterator[Metric]:
    family = HistogramMetricFamily(
        "wagehood_task_duration_seconds", "Task run time in the workers", labels=["task"]
    )
    for task, timing in sorted(snapshot["tasks"].items()):
        family.add_metric([task], list(timing["buckets"].items()), timing["sum"])
    yield family
    latency = stats.latency_histogram(store)
    yield HistogramMetricFamily(
        "wagehood_tick_to_state_latency_seconds",
        "Time from a tick's dispatch to its quotes applied to live state",
        buckets=list(latency["buckets"].items()),
        sum_value=latency["sum"],
    )


def _gauge(name: str, doc: str, value: float | None) -> Iterator[Metric]:
    if value is not None:
        yield GaugeMetricFamily(name, doc, value=value)


def _state_families(snapshot: dict[str, Any], settings: Settings) -> Iterator[Metric]:
    rates, queue = snapshot["rates"], snapshot["queue"]
    yield from _gauge("wagehood_bars_per_second", "Bars closed per second", rates["bars_per_s"])
    yield from _gauge(
        "wagehood_tasks_per_second", "Tasks finished per second", rates["tasks_per_s"]
    )
    queued = GaugeMetricFamily("wagehood_queue_messages", "Broker messages", labels=["state"])
    queued.add_metric(["queued"], queue["queued"])
    queued.add_metric(["unacked"], queue["unacked"])
    yield queued
    yield CounterMetricFamily("wagehood_updates", "Updates published", snapshot["updates_seq"])
    yield from _gauge("wagehood_dead_letters", "Dead letters stored", snapshot["dead_letters"])
    yield from _gauge("wagehood_watchlist_symbols", "Watched symbols", snapshot["watchlist"])
    yield from _gauge(
        "wagehood_workers_alive", "Workers heartbeating", len(snapshot["workers_alive"])
    )
    yield from _gauge(
        "wagehood_io_workers_alive",
        "io workers (deliveries, exports) heartbeating",
        len(snapshot["io_workers_alive"]),
    )
    yield from _gauge(
        "wagehood_beat_heartbeat_age_seconds",
        "Age of beat's heartbeat",
        snapshot["beat_age_seconds"],
    )
    yield from _gauge(
        "wagehood_dispatch_age_seconds",
        "Age of the last dispatched tick",
        snapshot["dispatch_age_seconds"],
    )
    memory = snapshot["redis_memory"]
    yield from _gauge("wagehood_redis_memory_used_bytes", "Redis used_memory", memory["used_bytes"])
    yield from _gauge("wagehood_redis_memory_max_bytes", "Redis maxmemory", memory["max_bytes"])
    ages = snapshot["symbol_age_seconds"]
    family = GaugeMetricFamily(
        "wagehood_symbol_age_seconds", "Seconds since a symbol's last update", labels=["symbol"]
    )
    for symbol, age in sorted(ages.items()):
        if age is not None:
            family.add_metric([symbol], age)
    yield family
    limit = monitoring.stale_after(settings)
    stale = sum(1 for age in ages.values() if age is None or age > limit)
    yield GaugeMetricFamily("wagehood_symbols_stale", "Watched symbols not fresh", value=stale)


def _alert_families(store: RedisStore) -> Iterator[Metric]:
    active = health_alerts.active(store)
    family = GaugeMetricFamily(
        "wagehood_alert_active", "Active health alerts", labels=["alert", "severity"]
    )
    for alert in active:
        family.add_metric([alert["id"], alert["severity"]], 1)
    yield family
    circuit = GaugeMetricFamily(
        "wagehood_provider_circuit_open",
        "1 when a provider's circuit is not closed",
        labels=["provider"],
    )
    for provider, circuit_state in monitoring.circuit_states(store).items():
        circuit.add_metric([provider], float(circuit_state != "closed"))
    yield circuit


def pipeline_families(store: RedisStore, settings: Settings) -> Iterator[Metric]:
    """Yield the workers' metric families read from Redis (only ``redis_up 0`` if it is down)."""
    try:
        snapshot = monitoring.snapshot(store)
        families = [
            *_counter_families(snapshot["counters"]),
            *_timing_families(snapshot, store),
            *_state_families(snapshot, settings),
            *_alert_families(store),
        ]
    except TemporaryError:
        yield GaugeMetricFamily("wagehood_redis_up", "1 when Redis answers", value=0)
        return
    yield GaugeMetricFamily("wagehood_redis_up", "1 when Redis answers", value=1)
    yield from families


class PipelineCollector:
    """Collect the workers' figures (from Redis) and this process's WebSocket hub."""

    def __init__(self, app_state: ApiState) -> None:
        """Read from ``app_state``'s store and hub."""
        self.app_state = app_state

    def collect(self) -> Iterator[Metric]:
        """Yield every pipeline metric family; only ``wagehood_redis_up 0`` if Redis is down."""
        yield from pipeline_families(self.app_state.store, self.app_state.settings)
        hub = self.app_state.hub
        if not MULTIPROCESS:
            yield GaugeMetricFamily("wagehood_websocket_clients", WS_HELP, value=hub.client_count)
        yield CounterMetricFamily(
            "wagehood_websocket_dropped", "Slow or flooding WebSocket clients dropped", hub.dropped
        )


def render(app_state: ApiState) -> bytes:
    """Return the text exposition of the web and pipeline metrics."""
    registry = CollectorRegistry()
    registry.register(PipelineCollector(app_state))
    if MULTIPROCESS:
        web = CollectorRegistry()
        multiprocess.MultiProcessCollector(web)  # type: ignore[no-untyped-call]
        return generate_latest(registry) + generate_latest(web)
    return generate_latest(registry) + generate_latest(WEB)


def metrics_response() -> Response:
    """Return ``/metrics``'s response."""
    return Response(render(state()), content_type=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    endpoint = request.endpoint or ""
    route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    started = g.get("metrics_started")
    if started is not None and endpoint not in UNTIMED:
        REQUEST_SECONDS.labels(request.method, route).observe(time.perf_counter() - started)
    return response


def _sample_clients(app_state: ApiState) -> None:
    while True:
        WS_CLIENTS.set(app_state.hub.client_count)
        time.sleep(1.0)


def register_metrics(app: Flask) -> None:
    """Time and count every request; in multiprocess mode, publish the hub's client count."""
    app.before_request(_start_timer)
    app.after_request(_observe)
    if MULTIPROCESS:
        app_state: Any = app.extensions["wagehood"]
        threading.Thread(target=_sample_clients, args=(app_state,), daemon=True).start()
