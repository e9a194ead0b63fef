"""The ``wagehood`` root group: global options, subgroups, and error handling."""

from __future__ import annotations

import sys
from typing import Any

import click

from cli.errors import CliError, to_click
from wagehood import __version__
from wagehood.errors import WagehoodError
from wagehood.settings import Settings


class WagehoodGroup(click.Group):
    """A group that turns domain errors into one clean line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; convert ``WagehoodError`` unless ``--debug`` was given."""
        try:
            return super().invoke(ctx)
        except WagehoodError as error:
            if ctx.meta.get("wagehood.debug"):
                raise
            raise to_click(error) from error


@click.group(cls=WagehoodGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wagehood")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Wagehood: real-time market data, indicators and signals."""
    ctx.meta["wagehood.debug"] = debug
    try:
        ctx.obj = Settings.from_env()
    except WagehoodError as error:
        raise to_click(error) from error


def _register() -> None:
    from cli import admin, replay  # noqa: PLC0415 - subcommands register after the root exists

    cli.add_command(replay.replay)
    cli.add_command(admin.admin)


_register()


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="wagehood")
    except CliError as error:  # raised outside click's own handling (e.g. in callbacks)
        error.show()
        sys.exit(error.exit_code)
