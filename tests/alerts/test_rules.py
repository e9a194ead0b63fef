"""Rule evaluation: crossings fire once per crossing, edges, cooldown, triggers, validation."""

from __future__ import annotations

import json

import pytest

from tests.factories import START, context, mock_quotes, stored_snapshots
from wagehood.alerts.evaluate import BarView, views
from wagehood.alerts.grammar import ConditionError
from wagehood.alerts.rules import AlertRule, build_rule, fires
from wagehood.errors import ConflictError, NotFoundError, ValidationError
from wagehood.service import alert_rules
from wagehood.service.pipeline import process_quotes
from wagehood.service.signals import evaluate_strategies
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Bar, Side, Signal, Snapshot, Timeframe

TF = Timeframe.M1


def snap(time: int, close: float, **values: float | None) -> Snapshot:
    bar = Bar("AAPL", TF, time, close, close, close, close, 1.0)
    return Snapshot(bar, values)


def fired_times(rule: AlertRule, history: list[Snapshot], signals: list[Signal] = ()) -> list[int]:
    last, times = None, []
    for view, previous in views(history, 0, list(signals)):
        if fires(rule, view, previous, last):
            last = view.current.bar.time
            times.append(last)
    return times


def rule(condition: str, **fields: object) -> AlertRule:
    return AlertRule("r", condition, TF, **fields)  # type: ignore[arg-type]


def test_crossing_fires_once_per_crossing() -> None:
    fast = [1, 2, 3, 4, 3, 2, 1, 2, 3, 3]
    history = [snap(60 * i, 10, fast=f, slow=2.5) for i, f in enumerate(fast)]
    assert fired_times(rule("fast crosses_above slow"), history) == [120, 480]
    assert fired_times(rule("fast crosses_below slow"), history) == [300]
    assert fired_times(rule("fast crosses slow"), history) == [120, 300, 480]


def test_touching_then_leaving_counts_as_a_crossing_only_when_it_passes() -> None:
    history = [snap(0, 1, a=1, b=2), snap(60, 1, a=2, b=2), snap(120, 1, a=3, b=2)]
    assert fired_times(rule("a crosses_above b"), history) == [120]


def test_comparison_fires_when_it_becomes_true_unless_repeat() -> None:
    rsi = [50, 29, 25, 20, 40, 28]
    history = [snap(60 * i, 10, rsi_14=r) for i, r in enumerate(rsi)]
    assert fired_times(rule("rsi_14 < 30"), history) == [60, 300]
    assert fired_times(rule("rsi_14 < 30", repeat=True), history) == [60, 120, 180, 300]


def test_cooldown_is_counted_in_bar_time() -> None:
    history = [snap(60 * i, 10, rsi_14=20) for i in range(10)]
    assert fired_times(rule("rsi_14 < 30", repeat=True, cooldown=180), history) == [
        0,
        180,
        360,
        540,
    ]


def test_missing_values_never_fire() -> None:
    history = [snap(0, 10, ema_12=None, ema_26=1.0), snap(60, 10, ema_12=2.0, ema_26=1.0)]
    assert fired_times(rule("ema_12 crosses_above ema_26"), history) == []
    assert fired_times(rule("ema_12 < 1"), history) == []


def test_signal_trigger_needs_the_strategy_and_side_on_that_bar() -> None:
    history = [snap(60 * i, 10) for i in range(3)]
    signal = Signal("AAPL", TF, 60, "macd_rsi", Side.BUY, 0.8, 10.0, "x")
    assert fired_times(rule("signal macd_rsi buy"), history, [signal]) == [60]
    assert fired_times(rule("signal macd_rsi sell"), history, [signal]) == []
    assert fired_times(rule("signal rsi_trend"), history, [signal]) == []


def test_view_without_previous_bar_never_crosses() -> None:
    view = BarView(snap(0, 10, a=2, b=1))
    assert not fires(rule("a crosses_above b"), view, None, None)


def test_build_rule_rejects_unknown_columns_and_strategies_at_their_position() -> None:
    known = {"columns": ["rsi_14"], "strategies": ["macd_rsi"], "timeframes": [TF], "now": 0.0}
    with pytest.raises(ConditionError, match=r"^position 14: unknown indicator 'rsi_15'"):
        build_rule({"name": "x", "condition": "close > 1 or rsi_15 < 3"}, **known)
    with pytest.raises(ConditionError, match=r"^position 8: unknown strategy 'nope'"):
        build_rule({"name": "x", "condition": "signal nope"}, **known)
    with pytest.raises(ValidationError, match="timeframe 1h is not kept"):
        build_rule({"name": "x", "condition": "close > 1", "timeframe": "1h"}, **known)
    with pytest.raises(ValidationError, match="invalid rule name"):
        build_rule({"name": "Bad Name", "condition": "close > 1"}, **known)


def test_rule_crud_in_redis(store: RedisStore, settings: Settings) -> None:
    created = alert_rules.create_rule(store, settings, {"name": "dip", "condition": "rsi_14 < 30"})
    assert created.timeframe == TF
    with pytest.raises(ConflictError):
        alert_rules.create_rule(store, settings, {"name": "dip", "condition": "rsi_14 < 20"})
    paused = alert_rules.update_rule(store, settings, "dip", {"enabled": False})
    assert (paused.enabled, paused.condition) == (False, "rsi_14 < 30")
    assert [r.name for r in alert_rules.list_rules(store)] == ["dip"]
    alert_rules.delete_rule(store, "dip")
    with pytest.raises(NotFoundError):
        alert_rules.get_rule(store, "dip")


def _alerts(store: RedisStore) -> list[dict[str, object]]:
    entries = store.stream_range(keys.symbol_signals("AAPL"))
    records = [json.loads(f["data"]) for _, f in entries]
    return [r for r in records if str(r["strategy"]).startswith("alert:")]


def _run(store: RedisStore, settings: Settings, seconds: int, every: int) -> None:
    ctx = context(store, settings)
    pending: list[list[object]] = []
    for index, quotes in enumerate(mock_quotes(["AAPL"], START, seconds, step=30)):
        pending += process_quotes(ctx, quotes)
        if pending and index % every == 0:
            evaluate_strategies(ctx, pending)
            evaluate_strategies(ctx, pending)  # a redelivered step changes nothing
            pending = []
    if pending:
        evaluate_strategies(ctx, pending)


@pytest.mark.parametrize("every", [1, 37])
def test_pipeline_fires_each_crossing_once_however_bars_are_batched(
    store: RedisStore, settings: Settings, every: int
) -> None:
    condition = "ema_12 crosses_above ema_26"
    alert_rules.create_rule(store, settings, {"name": "golden", "condition": condition})
    _run(store, settings, 3 * 3600, every)

    history = stored_snapshots(store, "AAPL", TF)
    expected = fired_times(alert_rules.get_rule(store, "golden"), history)
    fired = _alerts(store)
    assert expected
    assert [a["time"] for a in fired] == expected
    assert all(a["strategy"] == "alert:golden" for a in fired)
    assert set(fired[0]["values"]) == {"ema_12", "ema_26", "ema_12@prev", "ema_26@prev"}
