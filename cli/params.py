"""Click parameter types for symbols and timeframes, validated like everywhere else."""

from __future__ import annotations

from typing import Any

import click

from wagehood.errors import ValidationError
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


SYMBOL = SymbolType()
TIMEFRAME = TimeframeType()
