"""The ``wagehood`` root group: global options, subgroups, and error handling."""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cli import clicfg
from cli.errors import EXIT_OTHER, CliError, to_click
from cli.redis_server import checkout_redis_url
from wagehood import __version__
from wagehood.errors import WagehoodError
from wagehood.settings import Settings

CLICK_FLOW = (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit)


# Subcommands load on first use (click's lazy-group pattern): `wagehood replay` need not
# import httpx, redis or jwt, which cost most of a second of start-up.
LAZY_COMMANDS = {
    "admin": "cli.admin:admin",
    "alerts": "cli.alerts:alerts",
    "completion": "cli.completion:completion",
    "config": "cli.config:config",
    "data": "cli.data:data",
    "monitor": "cli.monitor:monitor",
    "plugins": "cli.plugins:plugins",
    "replay": "cli.replay:replay",
}


class WagehoodGroup(click.Group):
    """A group that turns every error into one clean line and a documented exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return every subcommand name, loaded or not."""
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return a subcommand, importing its module the first time it is asked for."""
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module_name, attribute = LAZY_COMMANDS[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module_name), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; convert errors unless ``--debug`` was given."""
        try:
            return super().invoke(ctx)
        except CLICK_FLOW:
            raise
        except WagehoodError as error:
            if ctx.meta.get("wagehood.debug"):
                raise
            raise to_click(error) from error
        except Exception as error:  # a bug: still one line, the traceback behind --debug
            if ctx.meta.get("wagehood.debug"):
                raise
            text = f"internal error: {type(error).__name__}: {error} (--debug shows the traceback)"
            raise CliError(text.splitlines()[0], EXIT_OTHER) from error


FC = TypeVar("FC", bound=Callable[..., Any])


def _global(name: str, envvar: str, help_text: str, **kwargs: Any) -> Callable[[FC], FC]:
    return click.option(name, envvar=envvar, show_envvar=True, help=help_text, **kwargs)


@click.group(cls=WagehoodGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wagehood")
@_global("--config", "WAGEHOOD_CLI_CONFIG", "CLI config file [default: ~/.wagehood/cli_config.yaml].",
         type=click.Path(dir_okay=False))  # fmt: skip
@_global("--api-url", "WAGEHOOD_API_URL", "API base URL [default: http://127.0.0.1:$API_PORT].")
@_global("--api-key", "WAGEHOOD_API_KEY", "API key sent as a Bearer token (never printed).")
@_global("--timeout", "WAGEHOOD_TIMEOUT", "Seconds per HTTP request [default: 10].", type=float)
@_global("--retries", "WAGEHOOD_RETRIES", "Retries on connection errors and 503 [default: 3].",
         type=int)  # fmt: skip
@_global("--format", "WAGEHOOD_OUTPUT_FORMAT", "Default output format of every command.",
         type=click.Choice(clicfg.FORMATS))  # fmt: skip
@_global("--color", "WAGEHOOD_COLOR", "Colour tables: auto (TTY without NO_COLOR), always, never.",
         type=click.Choice(clicfg.COLOURS))  # fmt: skip
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, /, debug: bool, **overrides: Any) -> None:
    """Wagehood: real-time market data, indicators and signals.

    Settings come from flags, then WAGEHOOD_* environment variables, then the config file,
    then defaults. Exit codes: 0 ok, 1 other error, 2 usage or invalid request, 3 cannot
    reach the API or Redis, 4 authentication, 5 not found, 6 invalid input data.
    """
    ctx.meta["wagehood.debug"] = debug
    overrides["output_format"] = overrides.pop("format")
    ctx.meta[clicfg.OVERRIDES] = overrides
    try:
        ctx.obj = Settings.from_env()
    except WagehoodError as error:
        raise to_click(error) from error
    local = checkout_redis_url(Path(ctx.obj.data_dir), os.environ)
    if local is not None:  # this checkout's `make run` Redis, with its password
        ctx.obj = dataclasses.replace(ctx.obj, redis_url=local)


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="wagehood")
    except CliError as error:  # raised outside click's own handling (e.g. in callbacks)
        error.show()
        sys.exit(error.exit_code)
