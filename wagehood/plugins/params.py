"""A plugin strategy's parameters: their JSON schema, and checking values against it.

Shared by the loader (which lists the schema) and the guard (which checks the values a
guarded strategy is built with).
"""

from __future__ import annotations

import inspect
from typing import Any, get_type_hints

_JSON_TYPES: dict[Any, str] = {int: "integer", float: "number", bool: "boolean", str: "string"}


def parameter_schema(cls: type[Any]) -> dict[str, dict[str, Any]]:
    """Return ``{parameter: {"type", "default"}}`` of a strategy class, from its signature."""
    target = getattr(cls, "plugin", cls)
    try:
        hints = get_type_hints(target.__init__)
    except Exception:
        hints = {}
    schema: dict[str, dict[str, Any]] = {}
    for name, parameter in inspect.signature(target).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        entry: dict[str, Any] = {"type": _JSON_TYPES.get(hints.get(name), "any")}
        if parameter.default is not parameter.empty:
            entry["default"] = parameter.default
        schema[name] = entry
    return schema


def check_params(cls: type[Any], params: dict[str, Any]) -> None:
    """Raise ``ValueError`` when a value does not have its parameter's annotated type."""
    schema = parameter_schema(cls)
    for name, value in params.items():
        wanted = schema.get(name, {}).get("type", "any")
        if not _is(value, wanted):
            raise ValueError(f"{name} must be of type {wanted}, was {value!r}")


def _is(value: object, wanted: str) -> bool:
    if wanted == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if wanted == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if wanted == "boolean":
        return isinstance(value, bool)
    if wanted == "string":
        return isinstance(value, str)
    return True
