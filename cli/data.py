"""``wagehood data``: latest prices, indicators, signals, history, live stream and exports."""

from __future__ import annotations

from typing import Any

import click

from cli import export, stream
from cli.client import ApiClient, pass_client, segment
from cli.output import emit, emit_object, format_option
from cli.params import SYMBOL, TIME, TIMEFRAME
from wagehood.types import Timeframe

PAGE = 1000


@click.group()
def data() -> None:
    """Read market data from the API (JSON output is the API's body)."""


@data.command()
@click.argument("symbols", nargs=-1, required=True, type=SYMBOL)
@format_option
@pass_client
def latest(client: ApiClient, symbols: tuple[str, ...], output_format: str | None) -> None:
    """Show the last price and in-progress bar of each SYMBOL (JSON: a list of bodies)."""
    bodies = [client.get(f"/realtime/data/latest/{segment(s)}") for s in symbols]
    emit(bodies, bodies, output_format, ("symbol", "price", "timestamp"))


@data.command()
@click.argument("symbol", type=SYMBOL)
@click.option("--timeframe", type=TIMEFRAME, default="1m", show_default=True)
@format_option
@pass_client
def indicators(
    client: ApiClient, symbol: str, timeframe: Timeframe, output_format: str | None
) -> None:
    """Show SYMBOL's indicator values at its last closed bar."""
    body = client.get(f"/realtime/indicators/{segment(symbol)}", timeframe=timeframe.value)
    emit_object(body, output_format)


@data.command()
@click.argument("symbol", type=SYMBOL)
@click.option("--timeframe", type=TIMEFRAME, help="Only this timeframe's signals.")
@click.option("--since", type=TIME, help="Bar time from (epoch seconds or ISO 8601).")
@click.option("--limit", type=click.IntRange(1, PAGE), default=100, show_default=True)
@format_option
@pass_client
def signals(
    client: ApiClient,
    symbol: str,
    timeframe: Timeframe | None,
    since: int | None,
    limit: int,
    output_format: str | None,
) -> None:
    """Show SYMBOL's most recent signals, oldest first."""
    body = client.get(
        f"/realtime/signals/{segment(symbol)}",
        timeframe=timeframe.value if timeframe else None,
        since=since,
        limit=limit,
    )
    columns = ("timestamp", "symbol", "timeframe", "strategy", "side", "confidence", "price")
    emit(body, body.get("signals", []), output_format, columns)


@data.command()
@click.argument("symbol", type=SYMBOL)
@click.option("--timeframe", type=TIMEFRAME, default="1m", show_default=True)
@click.option("--start", type=TIME, help="First bar time (epoch seconds or ISO 8601).")
@click.option("--end", type=TIME, help="Last bar time (epoch seconds or ISO 8601).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@format_option
@pass_client
def historical(
    client: ApiClient,
    symbol: str,
    timeframe: Timeframe,
    start: int | None,
    end: int | None,
    limit: int,
    output_format: str | None,
) -> None:
    """Show up to --limit closed bars of SYMBOL with their indicators (pages are followed)."""
    path = f"/realtime/data/historical/{segment(symbol)}"
    body = _pages(client, path, {"timeframe": timeframe.value, "start": start, "end": end}, limit)
    columns = ("time", "open", "high", "low", "close", "volume")
    emit(body, body["bars"], output_format, columns)


def _pages(client: ApiClient, path: str, params: dict[str, Any], limit: int) -> dict[str, Any]:
    bars: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get(path, **params, limit=min(PAGE, limit - len(bars)), cursor=cursor)
        bars += page.get("bars", [])
        cursor = page.get("next_cursor")
        if cursor is None or len(bars) >= limit:
            return {**page, "count": len(bars), "bars": bars}


data.add_command(stream.stream)
data.add_command(export.export)
