"""The CLI's own configuration: flags > environment > ``~/.wagehood/cli_config.yaml`` > defaults.

Flags and environment variables are read by click (each global option names its variable, so
a flag beats its variable); this module fills what they left unset from the YAML file, then
from the defaults. The file's path is ``--config`` / ``WAGEHOOD_CLI_CONFIG``, default
``~/.wagehood/cli_config.yaml``; a missing file means defaults, an unknown key or a bad value
is a usage error naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import click
import yaml

from wagehood.errors import ConfigError

FORMATS = ("json", "table", "csv")
COLOURS = ("auto", "always", "never")
META = "wagehood.cli_config"
OVERRIDES = "wagehood.cli_overrides"


def default_path() -> Path:
    """Return ``~/.wagehood/cli_config.yaml`` (``HOME`` decides where ``~`` is)."""
    return Path.home() / ".wagehood" / "cli_config.yaml"


@dataclass(frozen=True)
class CliConfig:
    """Resolved settings of the CLI (``api_url`` ``None`` means ``http://127.0.0.1:$API_PORT``)."""

    api_url: str | None = None
    api_key: str | None = None
    timeout: float = 10.0
    retries: int = 3
    output_format: str | None = None
    color: str = "auto"
    stream_buffer: int = 1000
    reconnect_delay: float = 1.0

    def __repr__(self) -> str:
        """Show every field but the key."""
        key = "***" if self.api_key else None
        return f"CliConfig(api_url={self.api_url!r}, api_key={key!r}, timeout={self.timeout})"


def _positive_float(value: Any) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(f"must be > 0, was {value!r}")
    return number


def _count(value: Any) -> int:
    if isinstance(value, bool) or int(value) != float(value) or int(value) < 0:
        raise ValueError(f"must be a whole number >= 0, was {value!r}")
    return int(value)


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if value is True or value is False:
            text = "always" if value else "never"
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, was {value!r}")
        return text

    return parse


def _url(value: Any) -> str:
    text = str(value).strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"must be an http:// or https:// URL, was {value!r}")
    return text


PARSERS: dict[str, Callable[[Any], Any]] = {
    "api_url": _url,
    "api_key": str,
    "timeout": _positive_float,
    "retries": _count,
    "output_format": _choice(*FORMATS),
    "color": _choice(*COLOURS),
    "stream_buffer": lambda v: max(1, _count(v)),
    "reconnect_delay": _positive_float,
}


def load_file(path: Path) -> dict[str, Any]:
    """Return the validated values of the YAML file at ``path`` (empty if it does not exist)."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read: {str(error).splitlines()[0]}") from error
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: must be a mapping of key: value")
    return _parse(data, str(path))


def _parse(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for name, value in values.items():
        if name not in PARSERS:
            raise ConfigError(f"{source}: unknown key {name!r} (known: {', '.join(PARSERS)})")
        if value is None:
            continue
        try:
            parsed[name] = PARSERS[name](value)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{source}: {name}: {error}") from error
    return parsed


def resolve(overrides: Mapping[str, Any], path: Path | None) -> CliConfig:
    """Merge flag/environment ``overrides`` (``None`` = unset) over the file over defaults."""
    merged = load_file(path or default_path())
    merged.update(_parse({k: v for k, v in overrides.items() if v is not None}, "option"))
    known = {spec.name for spec in fields(CliConfig)}
    return CliConfig(**{k: v for k, v in merged.items() if k in known})


def current(ctx: click.Context | None = None) -> CliConfig:
    """Return the configuration of the running command, resolving it on first use."""
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return CliConfig()
    if META not in ctx.meta:
        overrides = dict(ctx.meta.get(OVERRIDES, {}))
        path = overrides.pop("config", None)
        ctx.meta[META] = resolve(overrides, Path(path) if path else None)
    config: CliConfig = ctx.meta[META]
    return config


def setting(name: str, flag_value: Any) -> Any:
    """Return a command option's value, else the configuration's ``name`` (for per-command keys)."""
    return flag_value if flag_value is not None else getattr(current(), name)
