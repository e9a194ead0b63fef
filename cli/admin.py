"""``wagehood admin``: start the system, backfill history, check Redis."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from cli.errors import CliError
from cli.output import format_option, write_json, write_rows
from cli.params import SYMBOL, TIMEFRAME
from cli.redis_server import local_server
from wagehood import csvio
from wagehood.service import backfill as backfill_service
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Timeframe

pass_settings = click.make_pass_decorator(Settings)


@click.group()
def admin() -> None:
    """Operate a Wagehood installation (talks to Redis and Celery directly)."""


@admin.command("backfill")
@click.argument("symbol", type=SYMBOL)
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="OHLCV CSV (same formats as replay).",
)
@click.option("--timeframe", type=TIMEFRAME, help="Timeframe of the bars (default: inferred).")
@click.option("--wait", is_flag=True, help="Block until the workers have applied every bar.")
@click.option(
    "--timeout", type=float, default=600.0, show_default=True, help="Seconds --wait waits at most."
)
@format_option
@pass_settings
def backfill(
    settings: Settings,
    symbol: str,
    path: str,
    timeframe: Timeframe | None,
    wait: bool,
    timeout: float,
    output_format: str | None,
) -> None:
    """Seed SYMBOL's history from a CSV file through the worker pipeline."""
    from workers.app import app  # noqa: PLC0415 - only this command needs the Celery app

    tf = timeframe or csvio.infer_timeframe(
        [row.time for _, row in zip(range(51), csvio.read_rows(path), strict=False)]
    )
    bars = list(csvio.read_bars(path, symbol, tf))
    if not bars:
        raise CliError(f"{path}: no bars", 6)
    store = RedisStore.from_url(settings.redis_url)
    job = backfill_service.create_job(store, symbol, tf, bars)
    app.send_task("wagehood.backfill_chunk", args=[job, 0])
    status = _wait(store, job, timeout) if wait else backfill_service.status(store, job)
    _print_status(status, output_format)


def _wait(store: RedisStore, job: str, timeout: float) -> dict[str, object]:
    status = backfill_service.status(store, job)
    deadline = time.monotonic() + timeout
    with click.progressbar(length=int(status["chunks"]), label="applying", file=sys.stderr) as bar:
        done = 0
        while not status["done"]:
            if time.monotonic() > deadline:
                raise CliError(
                    f"backfill {job} not finished after {timeout:.0f}s (is a worker running?)", 1
                )
            time.sleep(0.2)
            status = backfill_service.status(store, job)
            bar.update(int(status["chunks_done"]) - done)
            done = int(status["chunks_done"])
    return status


def _print_status(status: dict[str, object], output_format: str | None) -> None:
    if (output_format or "table") == "json":
        write_json(status)
    else:
        write_rows(list(status), [list(status.values())], output_format or "table")


@admin.group()
def redis() -> None:
    """Check or stop the Redis Wagehood uses."""


@redis.command("check")
@format_option
@pass_settings
def redis_check(settings: Settings, output_format: str | None) -> None:
    """Ping Redis and show its version, memory and persistence."""
    store = RedisStore.from_url(settings.redis_url)
    started = time.perf_counter()
    info = store.client.info()
    row = {
        "ok": True,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "version": info.get("redis_version") or info.get("valkey_version"),
        "used_memory": info.get("used_memory_human"),
        "aof_enabled": bool(info.get("aof_enabled")),
        "keys": store.client.dbsize(),
    }
    if (output_format or "table") == "json":
        write_json(row)
    else:
        write_rows(list(row), [list(row.values())], output_format or "table")


def _register() -> None:
    from cli import keys, service  # noqa: PLC0415 - subgroups register after the group exists

    admin.add_command(service.service)
    admin.add_command(keys.keys)


_register()


@redis.command("stop")
@pass_settings
def redis_stop(settings: Settings) -> None:
    """Stop the local Redis that 'make run' started (by the PID in its pid file)."""
    server = local_server(Path(settings.data_dir))
    pid = server.pid()
    if pid is None:
        raise CliError(f"no local Redis pid file in {server.directory}", 5)
    server.stop()
    click.echo(
        f"stopped the local Redis (pid {pid}); its data stays in {server.directory}", err=True
    )
