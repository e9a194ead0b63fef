"""Click parameter types for symbols and timeframes, validated like everywhere else."""

from __future__ import annotations

from typing import Any

import click

from wagehood.errors import ValidationError
from wagehood.timeparse import parse_time
from wagehood.types import Timeframe, validate_symbol


class SymbolType(click.ParamType[str]):
    """A ticker symbol such as ``AAPL`` or ``BRK.B`` (upper-cased)."""

    name = "symbol"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """Validate and upper-case the symbol."""
        try:
            return validate_symbol(str(value))
        except ValidationError as error:
            self.fail(str(error), param, ctx)


class TimeframeType(click.ParamType[Timeframe]):
    """A bar timeframe such as ``1m`` or ``1h``."""

    name = "timeframe"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Timeframe:
        """Parse the timeframe."""
        if isinstance(value, Timeframe):
            return value
        try:
            return Timeframe.parse(str(value))
        except ValidationError as error:
            self.fail(str(error), param, ctx)


class TimeType(click.ParamType[int]):
    """A point in time: epoch seconds or ISO 8601 (``2024-06-01``, ``2024-06-01T14:30Z``)."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Return epoch seconds (a date or time without a zone is UTC)."""
        if isinstance(value, int):
            return value
        try:
            return parse_time(str(value))
        except ValueError:
            self.fail(f"{value!r} is not epoch seconds or an ISO 8601 time", param, ctx)


SYMBOL = SymbolType()
TIMEFRAME = TimeframeType()
TIME = TimeType()
