"""Spec parsing, building, and the IndicatorSet that flattens values into columns."""

from __future__ import annotations

import pytest

from tests.indicators.conftest import bars_from_closes
from wagehood.errors import ValidationError
from wagehood.indicators.base import Indicator
from wagehood.indicators.registry import (
    DEFAULT_INDICATORS,
    INDICATORS,
    IndicatorSet,
    build,
    parse_spec,
)

DEFAULT_COLUMNS = [
    "sma_20", "sma_50", "ema_12", "ema_26", "rsi_14", "macd", "macd_signal", "macd_hist",
    "bb_upper", "bb_middle", "bb_lower", "atr_14",
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("sma(20)", ("sma", (20.0,))),
        ("macd(12,26,9)", ("macd", (12.0, 26.0, 9.0))),
        ("bbands(20,2.0)", ("bbands", (20.0, 2.0))),
        (" BBands( 20 , 2.5 ) ", ("bbands", (20.0, 2.5))),
        ("obv()", ("obv", ())),
        ("obv", ("obv", ())),
    ],
)
def test_parse_spec_returns_kind_and_numbers(
    spec: str, parsed: tuple[str, tuple[float, ...]]
) -> None:
    assert parse_spec(spec) == parsed


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "invalid indicator spec"),
        ("sma(20", "invalid indicator spec"),
        ("sma(x)", "invalid parameter 'x'"),
        ("sma(nan)", "invalid parameter 'nan'"),
        ("foo(3)", "unknown indicator 'foo'.*choose one of sma, ema, rsi, macd, bbands"),
        ("sma()", "sma takes 1 parameter"),
        ("macd(1,2,3,4)", "macd takes 0 to 3 parameters"),
        ("obv(3)", "obv takes 0 parameters"),
        ("sma(2.5)", "period must be an integer, was 2.5"),
        ("sma(0)", "period must be >= 1, was 0"),
        ("macd(26,12,9)", "slow must be > fast"),
    ],
)
def test_bad_specs_raise_validation_error_on_indicators_field(spec: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        build(spec)

    assert caught.value.field == "indicators"


@pytest.mark.parametrize("kind", sorted(INDICATORS))
def test_every_kind_builds_with_its_defaults_or_one_period(kind: str) -> None:
    indicator = build(f"{kind}(5)") if kind in {"sma", "ema"} else build(kind)

    assert isinstance(indicator, Indicator)
    assert isinstance(indicator, INDICATORS[kind])


def test_build_fills_missing_trailing_parameters_with_defaults() -> None:
    assert repr(build("macd(5)")) == "MACD(5, 26, 9)"


def test_default_set_has_the_documented_columns() -> None:
    indicators = IndicatorSet(DEFAULT_INDICATORS)

    assert indicators.columns == DEFAULT_COLUMNS
    assert indicators.warmup == 49


def test_update_returns_every_column_none_while_warming_up() -> None:
    indicators = IndicatorSet(DEFAULT_INDICATORS)

    row = indicators.update(bars_from_closes([300.0])[0])

    assert row == dict.fromkeys(DEFAULT_COLUMNS)


def test_update_fills_every_column_after_warmup() -> None:
    indicators = IndicatorSet(DEFAULT_INDICATORS)

    rows = [indicators.update(b) for b in bars_from_closes([300.0 + i % 9 for i in range(60)])]

    assert all(value is not None for value in rows[49].values())
    assert any(value is None for value in rows[48].values())


def test_set_values_equal_the_individual_indicators() -> None:
    bars = bars_from_closes([300.0 + (i * 13 % 17) for i in range(80)])
    indicators = IndicatorSet({"m": "macd(3,5,2)", "a": "atr(3)", "k": "stoch(5,2,2)"})
    macd, atr, stoch = build("macd(3,5,2)"), build("atr(3)"), build("stoch(5,2,2)")

    for b in bars:
        row = indicators.update(b)
        m, a, k = macd.update(b.close), atr.update(b), stoch.update(b)

    assert (row["m"], row["m_signal"], row["m_hist"]) == (m.macd, m.signal, m.hist)
    assert (row["a"], row["k_k"], row["k_d"]) == (a, k.k, k.d)


def test_set_state_round_trip_continues_identically() -> None:
    bars = bars_from_closes([300.0 + (i * 7 % 23) for i in range(150)])
    whole, first = IndicatorSet(DEFAULT_INDICATORS), IndicatorSet(DEFAULT_INDICATORS)
    expected = [whole.update(b) for b in bars]

    head = [first.update(b) for b in bars[:70]]
    state = first.to_state()
    restored = IndicatorSet.from_state(DEFAULT_INDICATORS, state)
    tail = [restored.update(b) for b in bars[70:]]

    assert head + tail == expected
    assert all(key.split(".")[0] in DEFAULT_INDICATORS for key in state)


def test_from_state_rejects_state_saved_for_other_parameters() -> None:
    state = IndicatorSet({"fast": "sma(10)"}).to_state()

    with pytest.raises(ValueError, match="SMA\\(10\\), spec is SMA\\(20\\)"):
        IndicatorSet.from_state({"fast": "sma(20)"}, state)


def test_from_state_rejects_missing_indicator_state() -> None:
    with pytest.raises(ValueError, match="sma_20"):
        IndicatorSet.from_state({"sma_20": "sma(20)"}, {})


def test_invalid_spec_in_set_raises_validation_error() -> None:
    with pytest.raises(ValidationError, match="unknown indicator 'smaa'"):
        IndicatorSet({"x": "smaa(3)"})
