"""``wagehood monitor``: health, statistics, health alerts and a live view of the watched symbols."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from cli.client import ApiClient, pass_client, segment
from cli.errors import EXIT_UNREACHABLE, CliError
from cli.output import default_format, emit, emit_object, format_option, write_json, write_rows
from cli.params import SYMBOL

WATCH_COLUMNS = ("symbol", "price", "age_s", "bar_close", "signal", "confidence", "signal_at")


@click.group()
def monitor() -> None:
    """Watch the running system's health and data."""


@monitor.command()
@click.option("--detailed", is_flag=True, help="Include every component's details.")
@format_option
@pass_client
def health(client: ApiClient, detailed: bool, output_format: str | None) -> None:
    """Show health: exit 0 when ok or degraded, 3 when down."""
    _, body = client.get_status("/realtime/monitor/health", (503,), detailed=detailed or None)
    components = body.get("components") or {}
    rows = [{"component": name, **check} for name, check in components.items()]
    overall = {"component": "overall", "status": body.get("status")}
    if body.get("cause"):
        overall["cause"] = body["cause"]
    emit(body, [overall, *rows], output_format)
    if body.get("status") not in ("ok", "degraded"):
        raise CliError(f"the system is {body.get('status')}", EXIT_UNREACHABLE)


@monitor.command()
@format_option
@pass_client
def stats(client: ApiClient, output_format: str | None) -> None:
    """Show pipeline counters, latency percentiles and WebSocket figures."""
    emit_object(client.get("/realtime/monitor/stats"), output_format)


@monitor.command()
@format_option
@pass_client
def alerts(client: ApiClient, output_format: str | None) -> None:
    """List the active health alerts (stale symbols, missing beat or workers, open breakers...)."""
    body = client.get("/realtime/monitor/alerts")
    columns = ("id", "severity", "message", "first_seen", "last_seen")
    emit(body, body.get("alerts", []), output_format, columns)


def snapshot(client: ApiClient, symbols: list[str]) -> list[dict[str, Any]]:
    """Return one row per symbol: price, freshness, bar close and latest signal."""
    now = time.time()
    rows = []
    for symbol in symbols:
        latest = client.get(f"/realtime/data/latest/{segment(symbol)}")
        signal = (client.get(f"/realtime/signals/{segment(symbol)}", limit=1)["signals"] or [{}])[
            -1
        ]
        updated = latest.get("updated_at") or latest.get("time")
        rows.append({
            "symbol": symbol,
            "price": latest.get("price"),
            "age_s": round(now - updated, 1) if updated else None,
            "bar_close": (latest.get("bar") or {}).get("close"),
            "signal": signal.get("side") or signal.get("signal_type"),
            "confidence": signal.get("confidence"),
            "signal_at": signal.get("timestamp"),
        })  # fmt: skip
    return rows


def _watched(client: ApiClient) -> list[str]:
    return [entry["symbol"] for entry in client.get("/realtime/config/watchlist")["symbols"]]


def _render(rows: list[dict[str, Any]], fmt: str, live: bool) -> None:
    if fmt == "json":
        write_json({"time": time.time(), "symbols": rows})
    else:
        if live:
            click.clear()
            click.echo(time.strftime("wagehood monitor watch  %H:%M:%S  (Ctrl-C stops)"))
        write_rows(WATCH_COLUMNS, [[row[c] for c in WATCH_COLUMNS] for row in rows], fmt)
    sys.stdout.flush()


@monitor.command()
@click.argument("symbols", nargs=-1, type=SYMBOL)
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True)
@click.option("--duration", type=float, help="Stop after this many seconds.")
@click.option("--iterations", type=click.IntRange(min=1), help="Stop after this many refreshes.")
@format_option
@pass_client
def watch(
    client: ApiClient,
    symbols: tuple[str, ...],
    interval: float,
    duration: float | None,
    iterations: int | None,
    output_format: str | None,
) -> None:
    """Refresh a view of SYMBOLS (default: the watchlist): price, freshness, latest signal.

    On a terminal the screen is redrawn; piped, each refresh is one more table (or one JSON
    document per refresh for --format json).
    """
    fmt = output_format or default_format()
    live = fmt == "table" and sys.stdout.isatty()
    deadline = time.monotonic() + duration if duration else None
    count = 0
    try:
        while True:
            _render(snapshot(client, list(symbols) or _watched(client)), fmt, live)
            count += 1
            if (iterations and count >= iterations) or (deadline and time.monotonic() >= deadline):
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        return
