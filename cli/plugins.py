"""``wagehood plugins``: the strategy and indicator plugins this installation finds."""

from __future__ import annotations

import click

from cli.output import format_option, write_rows
from wagehood.errors import TemporaryError
from wagehood.service import plugins as plugin_service
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

pass_settings = click.make_pass_decorator(Settings)
COLUMNS = ("name", "kind", "package", "version", "interface", "status", "failures", "error")


@click.group()
def plugins() -> None:
    """Inspect plugins (entry points and PLUGIN_PATHS files)."""


@plugins.command("list")
@format_option
@pass_settings
def list_plugins(settings: Settings, output_format: str | None) -> None:
    """List every plugin: name, kind, package, version, interface, status.

    Status is loaded, refused (another interface version, a bad name), failed (import error)
    or disabled (after repeated failures in the workers, when Redis is reachable).
    """
    plugin_service.configure(settings)
    try:
        rows = plugin_service.report(RedisStore.from_url(settings.redis_url))
    except TemporaryError:
        rows = plugin_service.report()
    table = [[row.get(column, "") for column in COLUMNS] for row in rows]
    write_rows(COLUMNS, table, output_format)
