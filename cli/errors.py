"""Domain errors become one line on stderr and a documented exit code, in this one place.

Exit codes: 0 ok, 1 other error, 2 usage, 3 cannot reach the API or Redis, 4 auth,
5 not found, 6 invalid input data (e.g. a malformed CSV row).
"""

from __future__ import annotations

import click

from wagehood.errors import (
    AuthError,
    ConfigError,
    DataError,
    NotFoundError,
    TemporaryError,
    ValidationError,
    WagehoodError,
)

EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_AUTH = 4
EXIT_NOT_FOUND = 5
EXIT_BAD_DATA = 6


class CliError(click.ClickException):
    """A ``ClickException`` carrying one of the documented exit codes."""

    def __init__(self, message: str, exit_code: int = EXIT_OTHER) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it a ClassVar


def exit_code_for(error: WagehoodError) -> int:
    """Return the documented exit code for a domain error."""
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, AuthError):
        return EXIT_AUTH
    if isinstance(error, TemporaryError):
        return EXIT_UNREACHABLE
    if isinstance(error, ValidationError | ConfigError):
        return EXIT_USAGE
    if isinstance(error, DataError):
        return EXIT_BAD_DATA
    return EXIT_OTHER


def to_click(error: WagehoodError) -> CliError:
    """Convert a domain error into a one-line ``CliError``."""
    message = str(error).splitlines()[0] if str(error) else error.kind
    return CliError(message, exit_code_for(error))
