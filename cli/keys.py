"""API key bootstrap for ``make run``: create and print a first admin key if none exists."""

from __future__ import annotations

import os
from pathlib import Path

from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore


def ensure_admin_key(store: RedisStore, settings: Settings) -> str | None:
    """Create an admin key when no key exists; return it (or ``None`` if keys exist)."""
    try:
        from wagehood.service import auth  # noqa: PLC0415 - arrives with the API
    except ImportError:
        return None
    if auth.list_keys(store):
        return None
    key = auth.create_key(store, name="admin", permissions=["read", "write", "admin"]).key
    path = Path(settings.data_dir) / "admin.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key + "\n")
    os.chmod(path, 0o600)
    return key
