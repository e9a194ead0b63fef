"""History: a look-back ring read lazily is the same snapshots as the ring decoded in full."""

from __future__ import annotations

import pytest

from wagehood.engine import merge_specs, replay
from wagehood.history import History, concat
from wagehood.indicators.registry import DEFAULT_INDICATORS, IndicatorSet
from wagehood.providers.mock import MockProvider
from wagehood.service.evaluation import RING_CODEC, pack_ring, ring_bytes, unpack_ring
from wagehood.strategies.registry import DEFAULT_STRATEGY_CONFIG, StrategySet
from wagehood.types import Snapshot, Timeframe

TF = Timeframe.M5
BAR_FIELDS = ("time", "open", "high", "low", "close", "volume")
STRATEGIES = StrategySet(DEFAULT_STRATEGY_CONFIG)
COLUMNS = tuple(IndicatorSet(merge_specs(DEFAULT_INDICATORS, STRATEGIES)).columns)
KEEP = STRATEGIES.lookback


@pytest.fixture(scope="module")
def snapshots() -> list[Snapshot]:
    """Every snapshot of a 3,000-bar mock replay with the default indicators and strategies."""
    end = 1_700_000_100 // TF.seconds * TF.seconds
    bars = MockProvider().get_bars(["HIST"], TF, end - 3000 * TF.seconds, end).bars["HIST"]
    rows = replay(bars, DEFAULT_INDICATORS, STRATEGIES)
    return [row.snapshot for row in rows]


def ring(window: list[Snapshot]) -> History:
    text = pack_ring(window, COLUMNS, KEEP)
    return unpack_ring("HIST", TF, ring_bytes({"ring": text, "ring_codec": RING_CODEC}), COLUMNS)


@pytest.mark.parametrize("end", [KEEP, 120, 260, 3000])
def test_a_ring_read_lazily_holds_the_snapshots_it_was_packed_from(
    snapshots: list[Snapshot], end: int
) -> None:
    window = snapshots[end - KEEP : end]  # the first windows still have warming-up columns
    history = ring(window)

    for name in COLUMNS:
        assert history.column(name) == [s.get(name) for s in window]
    for name in BAR_FIELDS:
        assert history.bar_values(name) == [getattr(s.bar, name) for s in window]
    assert history.column("not_a_column") == [None] * KEEP
    assert history[-1] == window[-1]
    assert history[3:9].column(COLUMNS[0]) == [s.get(COLUMNS[0]) for s in window[3:9]]
    assert list(history) == window
    assert len(history) == KEEP


def test_a_ring_extended_with_new_snapshots_reads_them_as_they_are(
    snapshots: list[Snapshot],
) -> None:
    window, new = snapshots[1000 - KEEP : 1000], snapshots[1000:1002]
    history = concat(ring(window), new)

    assert isinstance(history, History)
    assert list(history) == [*window, *new]
    assert history.column("rsi_14") == [s.get("rsi_14") for s in [*window, *new]]
    assert history.bar_values("close")[-2:] == [s.bar.close for s in new]
    assert concat(window, new) == [*window, *new]


def test_strategies_give_the_same_signals_on_a_lazy_ring_as_on_snapshots(
    snapshots: list[Snapshot],
) -> None:
    eager, lazy = [], []
    for end in range(KEEP, len(snapshots) + 1):
        window = snapshots[end - KEEP : end]
        eager += STRATEGIES.evaluate(window)
        lazy += STRATEGIES.evaluate(ring(window))

    assert lazy == eager
    # Those reading columns over the window (series, bar_values) among them.
    assert {s.strategy for s in eager} >= {"support_resistance", "rsi_trend", "macd_rsi"}
