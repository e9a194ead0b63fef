"""Symbols and timeframes are validated the same way wherever they enter."""

from __future__ import annotations

import pytest

from wagehood.errors import ValidationError
from wagehood.types import Timeframe, validate_symbol


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("aapl", "AAPL"),
        (" BRK.B ", "BRK.B"),
        ("^gspc", "^GSPC"),
        ("EURUSD=X", "EURUSD=X"),
        ("BTC-USD", "BTC-USD"),
    ],
)
def test_valid_symbols_are_upper_cased(text: str, symbol: str) -> None:
    assert validate_symbol(text) == symbol


@pytest.mark.parametrize(
    "text",
    ["", "$AAPL", "A B", "^^GSPC", "A^B", ".A", "{AAPL}", "A" * 21, "AA\nPL", "ÄPFEL", "../etc"],
)
def test_invalid_symbols_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_symbol(text)
    assert caught.value.field == "symbol"


def test_timeframes_floor_to_utc_boundaries() -> None:
    assert Timeframe.parse(" 5M ") is Timeframe.M5
    assert Timeframe.H4.floor(1_717_214_399) == 1_717_200_000
    with pytest.raises(ValidationError, match="choose one of 1m, 5m"):
        Timeframe.parse("2m")
