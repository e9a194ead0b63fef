"""Offline replay of an OHLCV file through the same indicator and strategy code as the workers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wagehood import csvio
from wagehood.engine import replay
from wagehood.errors import ValidationError
from wagehood.indicators.registry import DEFAULT_INDICATORS, IndicatorSet
from wagehood.strategies.registry import DEFAULT_STRATEGY_CONFIG, StrategySet
from wagehood.types import Bar, Signal, Timeframe, iso_time

BAR_COLUMNS = ("time", "open", "high", "low", "close", "volume")
SIGNAL_COLUMNS = (
    "time",
    "symbol",
    "timeframe",
    "strategy",
    "signal_type",
    "confidence",
    "price",
    "reason",
)


@dataclass(frozen=True)
class ReplayTable:
    """Column names and an iterator of rows (one per input bar, or one per signal)."""

    columns: tuple[str, ...]
    rows: Iterator[list[Any]]


def replay_file(
    path: str | Path,
    symbol: str | None = None,
    timeframe: Timeframe | None = None,
    *,
    signals: bool = False,
    indicators: Mapping[str, str] | None = None,
    strategies: Mapping[str, Mapping[str, Any]] | None = None,
    min_confidence: float = 0.3,
) -> ReplayTable:
    """Replay the CSV file at ``path``; the symbol defaults to the file name.

    Raises:
        DataError: the file is unreadable or malformed (the message names file and line).
    """
    name = symbol or csvio.symbol_from_path(path)
    tf = timeframe or csvio.infer_timeframe(
        [row.time for _, row in zip(range(51), csvio.read_rows(path), strict=False)]
    )
    bars = csvio.read_bars(path, name, tf)
    specs = dict(indicators or DEFAULT_INDICATORS)
    if signals:
        strategy_set = StrategySet(strategies or DEFAULT_STRATEGY_CONFIG, min_confidence)
        return ReplayTable(SIGNAL_COLUMNS, _signal_rows(bars, specs, strategy_set))
    columns = IndicatorSet(specs).columns
    return ReplayTable((*BAR_COLUMNS, *columns), _bar_rows(bars, specs, columns))


def _bar_rows(
    bars: Iterator[Bar], specs: dict[str, str], columns: tuple[str, ...] | list[str]
) -> Iterator[list[Any]]:
    for row in replay(bars, specs, StrategySet({})):
        bar, values = row.snapshot.bar, row.snapshot.values
        yield [
            iso_time(bar.time),
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
            *(values[c] for c in columns),
        ]


def _signal_rows(
    bars: Iterator[Bar], specs: dict[str, str], strategies: StrategySet
) -> Iterator[list[Any]]:
    for row in replay(bars, specs, strategies):
        for signal in row.signals:
            yield signal_row(signal)


def signal_row(signal: Signal) -> list[Any]:
    """Return a signal as a row of ``SIGNAL_COLUMNS``."""
    return [
        iso_time(signal.time),
        signal.symbol,
        signal.timeframe.value,
        signal.strategy,
        signal.side.value.upper(),
        signal.confidence,
        signal.price,
        signal.reason,
    ]


def parse_strategy_choice(text: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name:fast=10,slow=30"`` into ``("name", {"fast": 10, "slow": 30})``.

    Values are JSON scalars (``10``, ``2.5``, ``true``); anything else is a string.

    Raises:
        ValidationError: a parameter is not ``key=value``.
    """
    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise ValidationError(
                f"invalid strategy parameter {part!r}: write name:key=value,...", "strategy"
            )
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value.strip()
    return name.strip(), params


def strategy_choices(texts: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Return a strategy configuration enabling exactly the strategies named in ``texts``."""
    return {
        name: {"enabled": True, "params": params}
        for name, params in map(parse_strategy_choice, texts)
    }
