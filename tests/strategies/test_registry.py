"""Registry: names, default config, building, validation, merged columns and filtering."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pytest

from tests.strategies.factories import make_history
from wagehood.errors import ValidationError
from wagehood.strategies.base import Strategy
from wagehood.strategies.registry import (
    DEFAULT_STRATEGY_CONFIG,
    STRATEGIES,
    StrategySet,
    build_strategy,
    column,
    merge_indicators,
    validate_strategy_config,
)
from wagehood.types import Side, Signal, Snapshot

FIVE = ["bollinger_breakout", "ma_crossover", "macd_rsi", "rsi_trend", "support_resistance"]


class Fixed:
    """A test strategy that always signals with a fixed confidence; reason = window length."""

    name: ClassVar[str] = "fixed"

    def __init__(
        self, confidence: float = 0.5, lookback: int = 3, min_confidence: float = 0.0
    ) -> None:
        self.confidence = confidence
        self.window = lookback
        self.min_confidence = min_confidence

    @property
    def indicators(self) -> Mapping[str, str]:
        return {"rsi_14": "rsi(14)"}

    @property
    def lookback(self) -> int:
        return self.window

    def evaluate(self, history: Sequence[Snapshot]) -> Signal | None:
        bar = history[-1].bar
        return Signal(
            bar.symbol,
            bar.timeframe,
            bar.time,
            self.name,
            Side.BUY,
            self.confidence,
            bar.close,
            str(len(history)),
        )


class Other(Fixed):
    """Like ``Fixed`` under another name, with a conflicting spec for ``rsi_14``."""

    name: ClassVar[str] = "other"

    @property
    def indicators(self) -> Mapping[str, str]:
        return {"rsi_14": "rsi(21)"}


class Agreeing(Fixed):
    """Like ``Fixed`` under another name, agreeing on ``rsi_14``."""

    name: ClassVar[str] = "agreeing"


TEST_REGISTRY: dict[str, type] = {"fixed": Fixed, "other": Other, "agreeing": Agreeing}


def enabled(**params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"enabled": True, "params": p} for name, p in params.items()}


def test_registry_holds_the_five_strategies_by_their_names() -> None:
    assert sorted(STRATEGIES) == FIVE
    assert all(cls.name == name for name, cls in STRATEGIES.items())


def test_default_config_enables_all_five_with_default_params() -> None:
    assert {name: {"enabled": True, "params": {}} for name in FIVE} == DEFAULT_STRATEGY_CONFIG


def test_every_built_strategy_satisfies_the_protocol() -> None:
    for name in FIVE:
        assert isinstance(build_strategy(name, {}), Strategy)


def test_default_set_merges_the_default_columns_and_takes_the_longest_lookback() -> None:
    strategies = StrategySet(DEFAULT_STRATEGY_CONFIG)

    assert [s.name for s in strategies.strategies] == FIVE
    assert strategies.indicators == {
        "bb": "bbands(20,2.0)",
        "ema_50": "ema(50)",
        "ema_200": "ema(200)",
        "macd": "macd(12,26,9)",
        "rsi_14": "rsi(14)",
        "rsi_21": "rsi(21)",
    }
    assert strategies.lookback == 51


def test_column_names_default_composites_short_and_others_with_parameters() -> None:
    assert column("rsi", 21) == ("rsi_21", "rsi(21)")
    assert column("macd", 12, 26, 9) == ("macd", "macd(12,26,9)")
    assert column("macd", 5, 35, 5) == ("macd_5_35_5", "macd(5,35,5)")
    assert column("bbands", 20, 2.0) == ("bb", "bbands(20,2.0)")
    assert column("bbands", 30, 2.5) == ("bb_30_2.5", "bbands(30,2.5)")


def test_build_strategy_applies_params() -> None:
    strategy = build_strategy("ma_crossover", {"fast": 20, "slow": 100})

    assert strategy.indicators == {"ema_20": "ema(20)", "ema_100": "ema(100)"}


def test_unknown_strategy_name_raises_validation_error_naming_it() -> None:
    with pytest.raises(ValidationError, match="'turtle'") as caught:
        build_strategy("turtle", {})

    assert caught.value.field == "strategies"


def test_unknown_param_raises_validation_error_naming_it() -> None:
    with pytest.raises(ValidationError, match="'period'") as caught:
        build_strategy("macd_rsi", {"period": 3})

    assert caught.value.field == "strategies"


@pytest.mark.parametrize(
    ("name", "params", "named"),
    [
        ("macd_rsi", {"fast": 0}, "fast"),
        ("ma_crossover", {"fast": 300}, "fast"),
        ("rsi_trend", {"trend_share": "high"}, "trend_share"),
        ("bollinger_breakout", {"period": True}, "period"),
        ("support_resistance", {"tolerance": 2}, "tolerance"),
    ],
)
def test_invalid_param_value_raises_validation_error_naming_it(
    name: str, params: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        build_strategy(name, params)


def test_validate_config_fills_defaults_and_disables_absent_strategies() -> None:
    config = validate_strategy_config({"macd_rsi": {"params": {"fast": 8}}, "rsi_trend": {}})

    assert config["macd_rsi"] == {"enabled": True, "params": {"fast": 8}}
    assert config["rsi_trend"] == {"enabled": True, "params": {}}
    assert config["ma_crossover"] == {"enabled": False, "params": {}}
    assert sorted(config) == FIVE


def test_validate_config_keeps_the_default_config_unchanged() -> None:
    assert validate_strategy_config(DEFAULT_STRATEGY_CONFIG) == DEFAULT_STRATEGY_CONFIG


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"turtle": {}}, "turtle"),
        ({"macd_rsi": {"enabled": "yes"}}, "enabled"),
        ({"macd_rsi": {"enable": True}}, "enable"),
        ({"macd_rsi": True}, "macd_rsi"),
        ({"macd_rsi": {"params": [1]}}, "params"),
        ({"macd_rsi": {"enabled": False, "params": {"fast": -1}}}, "fast"),
        ([], "config"),
    ],
)
def test_validate_config_rejects_invalid_entries(config: Any, named: str) -> None:
    with pytest.raises(ValidationError, match=named) as caught:
        validate_strategy_config(config)

    assert caught.value.field == "strategies"


def test_disabled_strategies_are_not_built() -> None:
    config = {**DEFAULT_STRATEGY_CONFIG, "ma_crossover": {"enabled": False, "params": {}}}

    names = [s.name for s in StrategySet(config).strategies]

    assert "ma_crossover" not in names
    assert len(names) == 4


def test_same_column_with_two_specs_raises_validation_error() -> None:
    with pytest.raises(ValidationError, match="rsi_14") as caught:
        StrategySet(enabled(fixed={}, other={}), registry=TEST_REGISTRY)

    assert caught.value.field == "strategies"


def test_same_column_with_the_same_spec_merges() -> None:
    assert merge_indicators([Fixed(), Agreeing()]) == {"rsi_14": "rsi(14)"}


def test_empty_set_has_lookback_one_and_no_signals() -> None:
    strategies = StrategySet({})

    assert strategies.lookback == 1
    assert strategies.indicators == {}
    assert strategies.evaluate(make_history(3)) == []


def test_signals_below_global_min_confidence_are_dropped() -> None:
    config = enabled(fixed={"confidence": 0.29}, agreeing={"confidence": 0.3})

    signals = StrategySet(config, registry=TEST_REGISTRY).evaluate(make_history(5))

    assert [s.strategy for s in signals] == ["agreeing"]


def test_signals_below_the_strategys_own_min_confidence_are_dropped() -> None:
    config = enabled(fixed={"confidence": 0.6, "min_confidence": 0.7}, agreeing={"confidence": 0.6})

    signals = StrategySet(config, min_confidence=0.5, registry=TEST_REGISTRY).evaluate(
        make_history(5)
    )

    assert [s.strategy for s in signals] == ["agreeing"]


def test_each_strategy_sees_its_own_lookback_and_signals_are_ordered_by_name() -> None:
    config = enabled(fixed={"lookback": 2}, agreeing={"lookback": 4})
    strategies = StrategySet(config, registry=TEST_REGISTRY)

    signals = strategies.evaluate(make_history(10))

    assert strategies.lookback == 4
    assert [(s.strategy, s.reason) for s in signals] == [("agreeing", "4"), ("fixed", "2")]


def test_evaluate_accepts_a_deque_window() -> None:
    strategies = StrategySet(enabled(fixed={"lookback": 2}), registry=TEST_REGISTRY)

    signals = strategies.evaluate(deque(make_history(5), maxlen=5))

    assert [s.reason for s in signals] == ["2"]


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_global_min_confidence_out_of_range_raises(value: float) -> None:
    with pytest.raises(ValidationError, match="min_confidence"):
        StrategySet(DEFAULT_STRATEGY_CONFIG, min_confidence=value)
