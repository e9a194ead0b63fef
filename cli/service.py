"""``wagehood admin service``: run the Procfile's processes, in the foreground or background."""

from __future__ import annotations

import os
from pathlib import Path

import click

from cli import procs
from cli.local import ensure_redis, run_procfile
from cli.output import emit, format_option
from cli.redis_server import LocalRedis
from wagehood.service import watchlist
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

pass_settings = click.make_pass_decorator(Settings)
ALL = ("web", "worker", "io", "beat", "flower")
LEVELS = click.Choice(["debug", "info", "warning", "error"])


def run_dir(settings: Settings) -> Path:
    """Return where PID files and logs go: ``WAGEHOOD_DATA_DIR`` if set, else ``~/.wagehood``."""
    explicit = "WAGEHOOD_DATA_DIR" in os.environ
    return (Path(settings.data_dir) if explicit else Path.home() / ".wagehood").resolve()


def process_env(
    settings: Settings, symbols: str | None, log_level: str | None
) -> tuple[dict[str, str], LocalRedis | None]:
    """Return the environment of the started processes, and the Redis started for them."""
    Path(settings.data_dir).mkdir(mode=0o700, parents=True, exist_ok=True)  # beat's schedule
    url, server = ensure_redis(settings, os.environ)
    env = {"REDIS_URL": url, "WAGEHOOD_DATA_DIR": settings.data_dir}
    if symbols:
        env["WATCHLIST_SYMBOLS"] = symbols
    if log_level:
        env["LOG_LEVEL"] = log_level
    return env, server


def _launch(
    settings: Settings,
    names: tuple[str, ...],
    env: dict[str, str],
    background: bool,
    server: LocalRedis | None = None,
) -> None:
    if not background:
        run_procfile(env, list(names), server)
    if server is not None:
        click.echo("This checkout's Redis keeps running: wagehood admin redis stop", err=True)
    commands = procs.procfile_commands()
    for name in names:
        pid = procs.start(run_dir(settings), name, commands[name], env)
        click.echo(f"started {name} (pid {pid}); log {run_dir(settings)}/logs/{name}.log", err=True)


def _single(name: str, help_text: str) -> click.Command:
    @click.command(f"start-{'api' if name == 'web' else name}", help=help_text)
    @click.option("--background", is_flag=True, help="Detach; PID file and log under the run dir.")
    @click.option("--log-level", type=LEVELS, help="Log level of the process.")
    @pass_settings
    def command(settings: Settings, background: bool, log_level: str | None) -> None:
        env, server = process_env(settings, None, log_level)
        _launch(settings, (name,), env, background, server)

    return command


@click.group()
def service() -> None:
    """Start, stop and inspect the API, workers, beat and Flower (the Procfile's lines)."""


service.add_command(_single("web", "Run the API (gunicorn, the Procfile's web line)."))
service.add_command(_single("worker", "Run a Celery worker."))
service.add_command(_single("io", "Run the io worker (webhook deliveries and exports)."))
service.add_command(_single("beat", "Run Celery beat (the price-fetch schedule)."))


@service.command("start-all")
@click.option("--symbols", help="Comma-separated watchlist to seed on first start.")
@click.option("--log-level", type=LEVELS, help="Log level of every process.")
@click.option("--background", is_flag=True, help="Detach every process (stop with 'stop').")
@pass_settings
def start_all(
    settings: Settings, symbols: str | None, log_level: str | None, background: bool
) -> None:
    """Ensure Redis and an admin key, then run web, worker, beat and flower (Ctrl-C stops)."""
    env, server = process_env(settings, symbols, log_level)
    settings = Settings.from_env({**os.environ, **env})
    store = RedisStore.from_url(settings.redis_url)
    watchlist.seed(store, settings)
    _announce(settings, store)
    _launch(settings, ALL, env, background, server)


def _announce(settings: Settings, store: RedisStore) -> None:
    from cli.keys import ensure_admin_key  # noqa: PLC0415 - keys imports this package's peers

    key = ensure_admin_key(store, settings)
    base = f"http://{settings.api_host}:{settings.api_port}"
    click.echo(f"API        {base}/api/v1   (docs: {base}/api/v1/docs)", err=True)
    click.echo(f"Flower     http://127.0.0.1:{settings.flower_port}", err=True)
    click.echo(f"Watchlist  {', '.join(e.symbol for e in watchlist.entries(store))}", err=True)
    if key:
        click.echo(
            f"Admin key  {key}   (shown once; also in {settings.data_dir}/admin.key)", err=True
        )


@service.command("stop")
@click.argument("names", nargs=-1, type=click.Choice(ALL))
@pass_settings
def stop(settings: Settings, names: tuple[str, ...]) -> None:
    """Stop background processes NAMES (default: all) by their recorded PIDs."""
    for name in names or ALL:
        pid = procs.stop(run_dir(settings), name)
        if pid:
            click.echo(f"stopped {name} (pid {pid})", err=True)


@service.command("status")
@format_option
@pass_settings
def status(settings: Settings, output_format: str | None) -> None:
    """Show which background processes run, their PIDs and logs."""
    where = run_dir(settings)
    rows = [
        {"name": name, "running": (pid := procs.running_pid(where, name)) is not None, "pid": pid,
         "log": str(where / "logs" / f"{name}.log")}
        for name in ALL
    ]  # fmt: skip
    emit(rows, rows, output_format)
