"""The condition grammar: what parses, where errors point, and a fuzz that never crashes."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wagehood.alerts.grammar import (
    MAX_DEPTH,
    BoolOp,
    Compare,
    ConditionError,
    Cross,
    Field,
    Not,
    Number,
    SignalTrigger,
    parse,
)

WORDS = ["rsi_14", "close", "ema_12", "and", "or", "not", "signal", "macd_rsi", "buy",
         "crosses_above", "crosses_below", "(", ")", "<", "<=", ">", "==", "!=", "30", "-1.5",
         "1e3", " ", ",", "#", "@"]  # fmt: skip


def test_comparison_parses_to_a_compare_node() -> None:
    assert parse("rsi_14 < 30") == Compare("<", Field("rsi_14", 1), Number(30.0))


def test_and_binds_tighter_than_or_and_parentheses_override() -> None:
    tree = parse("a > 1 or b > 2 and c > 3")
    assert isinstance(tree, BoolOp)
    assert tree.op == "or"
    assert isinstance(tree.operands[1], BoolOp)
    grouped = parse("(a > 1 or b > 2) and c > 3")
    assert isinstance(grouped, BoolOp)
    assert grouped.op == "and"


def test_crossings_signal_triggers_and_not() -> None:
    tree = parse("NOT close crosses_below bb_lower and signal macd_rsi BUY")
    assert isinstance(tree, BoolOp)
    negated, trigger = tree.operands
    assert negated == Not(Cross("crosses_below", Field("close", 5), Field("bb_lower", 25)))
    assert trigger == SignalTrigger("macd_rsi", "buy", 45)


def test_signal_trigger_side_defaults_to_any() -> None:
    assert parse("signal rsi_trend") == SignalTrigger("rsi_trend", "any", 8)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rsi_14 < )", "position 10: expected a number or indicator name, got ')'"),
        ("rsi_14 <", "position 9: expected a number or indicator name, got end of condition"),
        ("(rsi_14 < 30", "position 13: expected ')', got end of condition"),
        ("rsi_14 30", "position 8: expected a comparison"),
        ("rsi_14 < 30 close", "position 13: expected 'and', 'or' or the end"),
        ("signal and", "position 8: expected a strategy name after 'signal'"),
        ("rsi_14 < 3$", "position 11: unexpected character '$'"),
        ("   ", "position 1: empty condition"),
    ],
)
def test_errors_name_the_position_of_the_mistake(text: str, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(text)
    assert str(caught.value).startswith(message)
    assert caught.value.field == "condition"


def test_nesting_is_bounded() -> None:
    deep = "(" * (MAX_DEPTH + 1) + "a > 1" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(ConditionError, match="nested more than"):
        parse(deep)


def _check_error(text: str, error: ConditionError) -> None:
    match = re.match(r"^position (\d+): \S", str(error))
    assert match, str(error)
    assert 1 <= int(match.group(1)) <= len(text) + 1


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120))
def test_fuzz_arbitrary_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        parse(text)
    except ConditionError as error:
        _check_error(text, error)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=40))
def test_fuzz_token_soup_parses_or_fails_cleanly(words: list[str]) -> None:
    text = " ".join(words)
    try:
        parse(text)
    except ConditionError as error:
        _check_error(text, error)
