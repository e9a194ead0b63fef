"""``wagehood data export``: ask the API for an export, wait for the worker, download it."""

from __future__ import annotations

import os
import sys
import time
from typing import Any, BinaryIO

import click

from cli import ui
from cli.client import ApiClient, pass_client, segment
from cli.errors import EXIT_OTHER, CliError
from cli.output import emit_object, format_option
from cli.params import SYMBOL, TIME, TIMEFRAME
from wagehood.types import Timeframe

POLL = 0.3
FINISHED = ("done", "failed")


@click.command()
@click.argument("symbols", nargs=-1, required=True, type=SYMBOL)
@click.option("--what", type=click.Choice(["bars", "indicators", "signals"]), default="bars",
              show_default=True)  # fmt: skip
@click.option("--timeframe", type=TIMEFRAME, default="1m", show_default=True)
@click.option("--start", type=TIME, help="From this bar time (epoch seconds or ISO 8601).")
@click.option("--end", type=TIME, help="Up to this bar time (epoch seconds or ISO 8601).")
@click.option("--file-format", type=click.Choice(["json", "csv"]),
              help="Format of the file [default: --output's extension, else json].")  # fmt: skip
@click.option("--wait", is_flag=True, help="Wait until the worker has written the file.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
              help="Download the file here ('-' for stdout); implies --wait.")  # fmt: skip
@click.option("--timeout", type=float, default=300.0, show_default=True,
              help="Seconds --wait waits at most.")  # fmt: skip
@format_option
@pass_client
def export(
    client: ApiClient,
    symbols: tuple[str, ...],
    what: str,
    timeframe: Timeframe,
    start: int | None,
    end: int | None,
    file_format: str | None,
    wait: bool,
    output: str | None,
    timeout: float,
    output_format: str | None,
) -> None:
    """Export SYMBOLS' bars, indicators or signals; print the export's status.

    Without --wait the export's id is printed at once (a worker builds the file).
    """
    fmt = file_format or ("csv" if (output or "").endswith(".csv") else "json")
    body: dict[str, Any] = {"symbols": list(symbols), "what": what, "format": fmt}
    extra: dict[str, Any] = {"timeframe": timeframe.value, "start": start, "end": end}
    body |= {key: value for key, value in extra.items() if value is not None}
    status = client.post("/realtime/data/export", body)
    if wait or output:
        status = wait_for(client, str(status["id"]), timeout)
    if output:
        download(client, status, output)
    if output != "-":
        emit_object(status, output_format)


def wait_for(client: ApiClient, export_id: str, timeout: float) -> dict[str, Any]:
    """Poll the export's status until it is done; raise if it failed or took too long."""
    deadline = time.monotonic() + timeout
    with ui.spinner(f"export {export_id}"):
        status: dict[str, Any] = client.get(f"/realtime/data/export/{segment(export_id)}")
        while status.get("status") not in FINISHED:
            if time.monotonic() > deadline:
                raise CliError(f"export {export_id} not done after {timeout:.0f}s", EXIT_OTHER)
            time.sleep(POLL)
            status = client.get(f"/realtime/data/export/{segment(export_id)}")
    if status["status"] == "failed":
        raise CliError(f"export {export_id} failed: {status.get('error')}", EXIT_OTHER)
    return status


def download(client: ApiClient, status: dict[str, Any], output: str) -> None:
    """Stream the finished export to ``output`` with a progress bar on stderr."""
    path = f"/realtime/data/export/{segment(str(status['id']))}/download"
    if output == "-":
        _copy(client, path, status, sys.stdout.buffer)
        return
    partial = f"{output}.part"
    with open(partial, "wb") as handle:
        _copy(client, path, status, handle)
    os.replace(partial, output)
    click.echo(f"wrote {output}", err=True)


def _copy(client: ApiClient, path: str, status: dict[str, Any], out: BinaryIO) -> None:
    with client.stream(path) as response:
        total = int(response.headers.get("Content-Length") or status.get("size") or 0)
        with click.progressbar(length=total or None, label="downloading", file=sys.stderr) as bar:  # type: ignore[var-annotated]
            for chunk in response.iter_bytes():
                out.write(chunk)
                bar.update(len(chunk))
    out.flush()
