"""The alert condition language: a tokenizer and a recursive-descent parser (never ``eval``).

Grammar (keywords are case-insensitive; positions in errors are 1-based characters)::

    condition  := or
    or         := and ("or" and)*
    and        := unary ("and" unary)*
    unary      := "not" unary | primary
    primary    := "(" condition ")" | trigger | test
    trigger    := "signal" NAME ["buy" | "sell" | "any"]
    test       := operand (COMPARE | CROSS) operand
    operand    := NUMBER | NAME              (close, open, high, low, volume or an indicator column)
    COMPARE    := "<" | "<=" | ">" | ">=" | "==" | "!="
    CROSS      := "crosses_above" | "crosses_below" | "crosses"

Examples: ``rsi_14 < 30``, ``ema_12 crosses_above ema_26 and close > sma_50``,
``signal macd_rsi buy or (close crosses_below bb_lower)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from wagehood.errors import ValidationError

MAX_LENGTH = 500
MAX_DEPTH = 16
COMPARE = ("<=", ">=", "==", "!=", "<", ">")
CROSS = ("crosses_above", "crosses_below", "crosses")
SIDES = ("buy", "sell", "any")
KEYWORDS = frozenset({"and", "or", "not", "signal", *CROSS})
_TOKEN = re.compile(
    r"(?P<space>\s+)|(?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op><=|>=|==|!=|<|>)|(?P<paren>[()])"
)


class ConditionError(ValidationError):
    """A condition that does not parse or names something unknown; ``position`` is 1-based."""

    def __init__(self, position: int, message: str) -> None:
        super().__init__(f"position {position}: {message}", field="condition")
        self.position = position


@dataclass(frozen=True)
class Token:
    """One token: kind (number, name, op, paren, end), its text and 1-based position."""

    kind: str
    text: str
    position: int

    def describe(self) -> str:
        """Return how an error message names this token."""
        return "end of condition" if self.kind == "end" else repr(self.text)


@dataclass(frozen=True)
class Number:
    """A numeric literal."""

    value: float


@dataclass(frozen=True)
class Field:
    """A bar field or indicator column, looked up on the bar being evaluated."""

    name: str
    position: int


Operand = Number | Field


@dataclass(frozen=True)
class Compare:
    """``left OP right`` on the current bar."""

    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True)
class Cross:
    """``left`` crosses ``right`` between the previous bar and the current one."""

    direction: str  # crosses_above | crosses_below | crosses
    left: Operand
    right: Operand


@dataclass(frozen=True)
class SignalTrigger:
    """A strategy produced a signal (of ``side``, or any side) on the current bar."""

    strategy: str
    side: str
    position: int


@dataclass(frozen=True)
class Not:
    """Negation."""

    operand: Node


@dataclass(frozen=True)
class BoolOp:
    """``and``/``or`` over two or more operands."""

    op: str
    operands: tuple[Node, ...]


Node = Compare | Cross | SignalTrigger | Not | BoolOp
_ParseFn = Callable[[], Node]


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``end`` token.

    Raises:
        ConditionError: an empty, over-long condition or a character outside the language.
    """
    if len(text) > MAX_LENGTH:
        raise ConditionError(MAX_LENGTH + 1, f"condition longer than {MAX_LENGTH} characters")
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        match = _TOKEN.match(text, index)
        if match is None:
            raise ConditionError(index + 1, f"unexpected character {text[index]!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            word = match.group()
            tokens.append(Token(kind, word.lower() if kind == "name" else word, index + 1))
        index = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    if len(tokens) == 1:
        raise ConditionError(1, "empty condition")
    return tokens


def parse(text: str) -> Node:
    """Parse a condition into its syntax tree.

    Raises:
        ConditionError: the message names the 1-based position of the mistake, e.g.
            ``position 10: expected a number or indicator name, got ')'``.
    """
    return _Parser(tokenize(text)).parse()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at_word(self, *words: str) -> bool:
        return self.current.kind == "name" and self.current.text in words

    def fail(self, expected: str) -> ConditionError:
        token = self.current
        return ConditionError(token.position, f"expected {expected}, got {token.describe()}")

    def parse(self) -> Node:
        node = self.parse_or()
        if self.current.kind != "end":
            raise self.fail("'and', 'or' or the end of the condition")
        return node

    def parse_or(self) -> Node:
        return self._chain("or", self.parse_and)

    def parse_and(self) -> Node:
        return self._chain("and", self.parse_unary)

    def _chain(self, word: str, parse_next: _ParseFn) -> Node:
        operands = [parse_next()]
        while self.at_word(word):
            self.advance()
            operands.append(parse_next())
        return operands[0] if len(operands) == 1 else BoolOp(word, tuple(operands))

    def parse_unary(self) -> Node:
        if self.at_word("not"):
            self.advance()
            return Not(self._nested(self.parse_unary))
        return self.parse_primary()

    def _nested(self, parse_next: _ParseFn) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(self.current.position, f"nested more than {MAX_DEPTH} deep")
        node = parse_next()
        self.depth -= 1
        return node

    def parse_primary(self) -> Node:
        if self.current.text == "(" and self.current.kind == "paren":
            self.advance()
            node = self._nested(self.parse_or)
            if self.current.text != ")":
                raise self.fail("')'")
            self.advance()
            return node
        if self.at_word("signal"):
            return self.parse_trigger()
        return self.parse_test()

    def parse_trigger(self) -> SignalTrigger:
        self.advance()
        token = self.current
        if token.kind != "name" or token.text in KEYWORDS:
            raise self.fail("a strategy name after 'signal'")
        self.advance()
        side = "any"
        if self.at_word(*SIDES):
            side = self.advance().text
        return SignalTrigger(token.text, side, token.position)

    def parse_test(self) -> Compare | Cross:
        left = self.parse_operand()
        token = self.current
        if token.kind == "op":
            self.advance()
            return Compare(token.text, left, self.parse_operand())
        if self.at_word(*CROSS):
            self.advance()
            return Cross(token.text, left, self.parse_operand())
        raise self.fail("a comparison (<, <=, >, >=, ==, !=) or crosses_above/crosses_below")

    def parse_operand(self) -> Operand:
        token = self.current
        if token.kind == "number":
            self.advance()
            return Number(float(token.text))
        if token.kind == "name" and token.text not in KEYWORDS:
            self.advance()
            return Field(token.text, token.position)
        raise self.fail("a number or indicator name")


def fields_of(node: Node) -> list[Field]:
    """Return every field the condition reads, in order of appearance."""
    if isinstance(node, Compare | Cross):
        return [side for side in (node.left, node.right) if isinstance(side, Field)]
    if isinstance(node, Not):
        return fields_of(node.operand)
    if isinstance(node, BoolOp):
        return [f for operand in node.operands for f in fields_of(operand)]
    return []


def triggers_of(node: Node) -> list[SignalTrigger]:
    """Return every strategy-signal trigger in the condition."""
    if isinstance(node, SignalTrigger):
        return [node]
    if isinstance(node, Not):
        return triggers_of(node.operand)
    if isinstance(node, BoolOp):
        return [t for operand in node.operands for t in triggers_of(operand)]
    return []


def crossed_fields(node: Node) -> list[Field]:
    """Return the fields used in crossings (their previous-bar values are recorded too)."""
    if isinstance(node, Cross):
        return [side for side in (node.left, node.right) if isinstance(side, Field)]
    if isinstance(node, Not):
        return crossed_fields(node.operand)
    if isinstance(node, BoolOp):
        return [f for operand in node.operands for f in crossed_fields(operand)]
    return []
