"""``wagehood admin keys``: create, list and revoke API keys, straight in Redis.

These commands need no API key (they bootstrap the first one). ``ensure_admin_key`` is what
``make run`` calls to create and print a first admin key when none exists.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.output import emit, format_option
from wagehood.service import auth
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore

pass_settings = click.make_pass_decorator(Settings)


def ensure_admin_key(store: RedisStore, settings: Settings) -> str | None:
    """Create an admin key when no key exists; return it (or ``None`` if keys exist)."""
    if auth.has_keys(store):
        return None
    key: str = auth.create_key(store, name="admin", permissions=["read", "write", "admin"]).key
    path = Path(settings.data_dir) / "admin.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a stale file from an earlier Redis: replaced, never reused
    auth.write_private(path, key + "\n")
    return key


@click.group()
def keys() -> None:
    """Manage API keys (talks to Redis directly; needs no key)."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option(
    "--permissions",
    default="read",
    show_default=True,
    help="Comma-separated: read, write, admin.",
)
@click.option("--rate-limit", help="This key's own limit, e.g. 1200/minute.")
@format_option
@pass_settings
def create(
    settings: Settings,
    name: str,
    permissions: str,
    rate_limit: str | None,
    output_format: str | None,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    new = auth.create_key(_store(settings), name, auth.parse_permissions(permissions), rate_limit)
    body = {
        "key": new.key,
        "id": new.principal.key_id,
        "name": new.principal.name,
        "permissions": list(new.principal.permissions),
    }
    emit(body, [body], output_format)
    click.echo("Store this key now: it cannot be shown again.", err=True)


@keys.command("list")
@format_option
@pass_settings
def list_(settings: Settings, output_format: str | None) -> None:
    """List keys (ids, names, permissions; never the secrets)."""
    records = [principal.to_dict() for principal in auth.list_keys(_store(settings))]
    emit(records, records, output_format)


@keys.command("revoke")
@click.argument("key_id")
@format_option
@pass_settings
def revoke(settings: Settings, key_id: str, output_format: str | None) -> None:
    """Revoke key KEY_ID (from ``keys list``); its tokens stop working too."""
    record = auth.revoke_key(_store(settings), key_id).to_dict()
    emit(record, [record], output_format)


def _store(settings: Settings) -> RedisStore:
    return RedisStore.from_url(settings.redis_url)
