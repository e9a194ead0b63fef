"""Builders of crafted snapshot windows: strategies are tested without any indicator code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from wagehood.strategies.base import Strategy
from wagehood.types import Bar, Signal, Snapshot, Timeframe

START = 1_700_000_100  # a 5-minute boundary
STEP = Timeframe.M5.seconds


def make_snapshot(
    index: int,
    close: float = 100.0,
    *,
    high: float | None = None,
    low: float | None = None,
    volume: float = 1000.0,
    closed: bool = True,
    values: Mapping[str, float | None] | None = None,
) -> Snapshot:
    """Return the snapshot of bar number ``index`` (AAPL, 5m) with the given values."""
    bar = Bar(
        symbol="AAPL",
        timeframe=Timeframe.M5,
        time=START + index * STEP,
        open=close,
        high=close if high is None else high,
        low=close if low is None else low,
        close=close,
        volume=volume,
        closed=closed,
    )
    return Snapshot(bar=bar, values=dict(values or {}))


def make_history(
    length: int,
    *,
    closes: Sequence[float] | None = None,
    highs: Sequence[float] | None = None,
    lows: Sequence[float] | None = None,
    volumes: Sequence[float] | None = None,
    **columns: Sequence[float | None],
) -> list[Snapshot]:
    """Return ``length`` consecutive snapshots; each keyword is one column, oldest first.

    Every given sequence must have ``length`` items; omitted prices default to 100.0 and
    volumes to 1000.0.
    """
    for name, column in {**columns, "closes": closes, "highs": highs, "lows": lows}.items():
        if column is not None and len(column) != length:
            raise ValueError(f"{name} has {len(column)} items, expected {length}")
    return [
        make_snapshot(
            i,
            100.0 if closes is None else closes[i],
            high=None if highs is None else highs[i],
            low=None if lows is None else lows[i],
            volume=1000.0 if volumes is None else volumes[i],
            values={name: column[i] for name, column in columns.items()},
        )
        for i in range(length)
    ]


def with_values(snapshot: Snapshot, **values: float | None) -> Snapshot:
    """Return ``snapshot`` with some indicator values replaced."""
    return Snapshot(bar=snapshot.bar, values={**snapshot.values, **values})


def unclosed(snapshot: Snapshot) -> Snapshot:
    """Return ``snapshot`` with its bar marked as still in progress."""
    return replace(snapshot, bar=replace(snapshot.bar, closed=False))


def signals_over(strategy: Strategy, history: Sequence[Snapshot]) -> dict[int, Signal]:
    """Evaluate ``strategy`` on every bar of ``history`` as the engine would.

    Returns the signals by the index of the bar they fired on; each evaluation sees only
    the last ``lookback`` snapshots up to and including that bar.
    """
    signals: dict[int, Signal] = {}
    for end in range(1, len(history) + 1):
        signal = strategy.evaluate(history[max(0, end - strategy.lookback) : end])
        if signal is not None:
            signals[end - 1] = signal
    return signals
