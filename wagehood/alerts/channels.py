"""Notification channels: where events go (a URL in one payload format) and which events they take.

Filters: ``symbols`` (empty = all), ``events`` (``signals``, ``alerts`` or both),
``strategies`` (strategy signals; empty = all), ``rules`` (alerts; empty = all) and
``min_confidence`` (alerts carry confidence 1.0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wagehood.alerts.payloads import FORMATS
from wagehood.alerts.rules import STRATEGY_PREFIX, validate_name
from wagehood.alerts.urls import Resolver, check_url, redact, resolve
from wagehood.errors import ValidationError
from wagehood.types import validate_symbol

EVENTS = ("signals", "alerts")
MAX_FILTER = 200  # names in one filter list (the API schema documents the same limits)
MAX_NAME = 60
EDITABLE = (
    "url",
    "format",
    "symbols",
    "strategies",
    "rules",
    "events",
    "min_confidence",
    "enabled",
)


@dataclass(frozen=True)
class Channel:
    """A webhook target and its filters (the secret is stored apart and never listed)."""

    name: str
    url: str
    format: str = "generic"
    symbols: tuple[str, ...] = ()
    strategies: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    events: tuple[str, ...] = EVENTS
    min_confidence: float = 0.0
    enabled: bool = True
    created_at: float = 0.0
    updated_at: float = 0.0

    def accepts(self, event: Mapping[str, Any]) -> bool:
        """Return whether this channel wants ``event``."""
        signal = event["signal"]
        if not self.enabled or (self.symbols and signal["symbol"] not in self.symbols):
            return False
        if float(signal["confidence"]) < self.min_confidence:
            return False
        strategy = str(signal["strategy"])
        if strategy.startswith(STRATEGY_PREFIX):
            rule = strategy.removeprefix(STRATEGY_PREFIX)
            return "alerts" in self.events and (not self.rules or rule in self.rules)
        return "signals" in self.events and (not self.strategies or strategy in self.strategies)

    def to_dict(self, reveal_url: bool = False) -> dict[str, Any]:
        """Return a JSON-ready mapping; the URL is redacted unless ``reveal_url``."""
        return {
            "name": self.name,
            "url": self.url if reveal_url else redact(self.url),
            "format": self.format,
            "symbols": list(self.symbols),
            "strategies": list(self.strategies),
            "rules": list(self.rules),
            "events": list(self.events),
            "min_confidence": self.min_confidence,
            "enabled": self.enabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Channel:
        """Rebuild a stored channel (stored with its full URL)."""
        return cls(
            name=data["name"],
            url=data["url"],
            format=data.get("format", "generic"),
            symbols=tuple(data.get("symbols", ())),
            strategies=tuple(data.get("strategies", ())),
            rules=tuple(data.get("rules", ())),
            events=tuple(data.get("events", EVENTS)),
            min_confidence=float(data.get("min_confidence", 0.0)),
            enabled=bool(data.get("enabled", True)),
            created_at=float(data.get("created_at", 0.0)),
            updated_at=float(data.get("updated_at", 0.0)),
        )


def build_channel(
    data: Mapping[str, Any],
    *,
    allow_private: bool,
    now: float,
    base: Channel | None = None,
    resolver: Resolver = resolve,
) -> Channel:
    """Return a validated channel from request ``data`` (a partial update of ``base``).

    Raises:
        ValidationError: an invalid field, or a URL that is not an allowed webhook target.
    """
    unknown = sorted(set(data) - set(EDITABLE) - {"name"})
    if unknown:
        raise ValidationError(f"unknown channel field {unknown[0]!r}", unknown[0])
    merged = {**(base.to_dict(reveal_url=True) if base else {}), **data}
    if "url" in data or base is None:
        check_url(merged.get("url"), allow_private, resolver)  # type: ignore[arg-type]
    return Channel(
        name=base.name if base else validate_name(data.get("name"), "channel"),
        url=str(merged["url"]).strip(),
        format=_choice(merged.get("format", "generic"), FORMATS, "format"),
        symbols=tuple(validate_symbol(s) for s in _names(merged.get("symbols", []), "symbols")),
        strategies=_names(merged.get("strategies", []), "strategies"),
        rules=_names(merged.get("rules", []), "rules"),
        events=tuple(
            _choice(e, EVENTS, "events") for e in _names(merged.get("events", EVENTS), "events")
        ),
        min_confidence=_confidence(merged.get("min_confidence", 0.0)),
        enabled=_flag(merged.get("enabled", True)),
        created_at=base.created_at if base else now,
        updated_at=now,
    )


def _names(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or len(value) > MAX_FILTER:
        raise ValidationError(f"{field} must be a list of at most {MAX_FILTER} names", field)
    if not all(isinstance(item, str) and 0 < len(item) <= MAX_NAME for item in value):
        raise ValidationError(f"{field} must hold names of 1-{MAX_NAME} characters", field)
    return tuple(dict.fromkeys(value))


def _choice(value: Any, choices: tuple[str, ...], field: str) -> str:
    if value not in choices:
        raise ValidationError(f"{field} must be one of {', '.join(choices)}, was {value!r}", field)
    return str(value)


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError("min_confidence must be a number between 0 and 1", "min_confidence")
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("enabled must be true or false", "enabled")
    return value
