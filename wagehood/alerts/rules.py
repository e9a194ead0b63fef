"""Alert rules: a named condition on a symbol's (or every watched symbol's) bars of a timeframe.

A rule fires on a closed bar when its condition holds there and, unless ``repeat`` is set,
did not hold on the previous bar (so ``rsi_14 < 30`` alerts once when RSI drops below 30, not
on every bar it stays there; a crossing is an edge by itself). ``cooldown`` (seconds of bar
time) suppresses a firing that comes too soon after the last one. Bar time, not wall time,
keeps evaluation a pure function of the stored bars: a replay gives the same alerts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wagehood.alerts.evaluate import BAR_FIELDS, BarView, holds, trigger_values
from wagehood.alerts.grammar import ConditionError, Node, fields_of, parse, triggers_of
from wagehood.errors import ValidationError
from wagehood.types import Side, Timeframe, iso_time, validate_symbol

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # whole names only: fullmatch
MAX_COOLDOWN = 30 * 86400
STRATEGY_PREFIX = "alert:"
EDITABLE = ("condition", "timeframe", "symbol", "cooldown", "repeat", "enabled", "side")


def validate_name(value: Any, what: str = "rule") -> str:
    """Return a valid rule or channel name: 1-40 of a-z, 0-9, '_' and '-'."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise ValidationError(
            f"invalid {what} name {value!r}: use 1-40 characters a-z, 0-9, '_' or '-'", "name"
        )
    return value


@dataclass(frozen=True)
class AlertRule:
    """One alert rule; ``tree`` is the parsed ``condition``."""

    name: str
    condition: str
    timeframe: Timeframe
    symbol: str | None = None
    cooldown: int = 0
    repeat: bool = False
    enabled: bool = True
    side: Side | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    tree: Node = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tree", parse(self.condition))

    @property
    def strategy(self) -> str:
        """Return the strategy name fired alerts carry: ``alert:<name>``."""
        return STRATEGY_PREFIX + self.name

    def applies_to(self, symbol: str, timeframe: Timeframe) -> bool:
        """Return whether the rule watches ``symbol`` on ``timeframe`` right now."""
        return self.enabled and timeframe == self.timeframe and self.symbol in (None, symbol)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "name": self.name,
            "condition": self.condition,
            "timeframe": self.timeframe.value,
            "symbol": self.symbol,
            "cooldown": self.cooldown,
            "repeat": self.repeat,
            "enabled": self.enabled,
            "side": self.side.value if self.side else None,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertRule:
        """Rebuild a stored rule."""
        side = data.get("side")
        return cls(
            name=data["name"],
            condition=data["condition"],
            timeframe=Timeframe(data["timeframe"]),
            symbol=data.get("symbol"),
            cooldown=int(data.get("cooldown", 0)),
            repeat=bool(data.get("repeat", False)),
            enabled=bool(data.get("enabled", True)),
            side=Side(side) if side else None,
            created_at=float(data.get("created_at", 0.0)),
            updated_at=float(data.get("updated_at", 0.0)),
        )


def build_rule(
    data: Mapping[str, Any],
    *,
    columns: Iterable[str],
    strategies: Iterable[str],
    timeframes: Sequence[Timeframe],
    now: float,
    base: AlertRule | None = None,
) -> AlertRule:
    """Return a validated rule from request ``data`` (a partial update of ``base`` if given).

    Raises:
        ValidationError: an invalid field; ``ConditionError`` (a ``ValidationError``) names
            the position of a syntax error or of an unknown column or strategy.
    """
    unknown = sorted(set(data) - set(EDITABLE) - {"name"})
    if unknown:
        raise ValidationError(f"unknown rule field {unknown[0]!r}", unknown[0])
    merged = {**(base.to_dict() if base else {}), **{k: v for k, v in data.items() if k != "name"}}
    name = base.name if base else validate_name(data.get("name"))
    rule = AlertRule(
        name=name,
        condition=_condition(merged.get("condition")),
        timeframe=_timeframe(merged.get("timeframe"), timeframes),
        symbol=validate_symbol(merged["symbol"]) if merged.get("symbol") else None,
        cooldown=_cooldown(merged.get("cooldown", 0)),
        repeat=_flag(merged.get("repeat", False), "repeat"),
        enabled=_flag(merged.get("enabled", True), "enabled"),
        side=_side(merged.get("side")),
        created_at=base.created_at if base else now,
        updated_at=now,
    )
    check_names(rule.tree, columns, strategies)
    return rule


def check_names(tree: Node, columns: Iterable[str], strategies: Iterable[str]) -> None:
    """Reject a condition naming an unknown column or strategy, at its position."""
    known = set(columns) | set(BAR_FIELDS)
    for used in fields_of(tree):
        if used.name not in known:
            choices = ", ".join(sorted(known))
            raise ConditionError(
                used.position, f"unknown indicator {used.name!r}; known: {choices}"
            )
    names = set(strategies)
    for trigger in triggers_of(tree):
        if trigger.strategy not in names:
            choices = ", ".join(sorted(names))
            raise ConditionError(
                trigger.position, f"unknown strategy {trigger.strategy!r}; known: {choices}"
            )


def _condition(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError("condition must be a string such as 'rsi_14 < 30'", "condition")
    parse(value)
    return value.strip()


def _timeframe(value: Any, timeframes: Sequence[Timeframe]) -> Timeframe:
    if value is None:
        return timeframes[0]
    timeframe = Timeframe.parse(str(value))
    if timeframe not in timeframes:
        kept = ", ".join(tf.value for tf in timeframes)
        raise ValidationError(
            f"timeframe {timeframe.value} is not kept; use one of {kept}", "timeframe"
        )
    return timeframe


def _cooldown(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COOLDOWN:
        raise ValidationError(f"cooldown must be whole seconds 0..{MAX_COOLDOWN}", "cooldown")
    return value


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be true or false", name)
    return value


def _side(value: Any) -> Side | None:
    if value is None:
        return None
    if value not in ("buy", "sell"):
        raise ValidationError("side must be buy, sell or null", "side")
    return Side(value)


def fires(rule: AlertRule, view: BarView, previous: BarView | None, last: int | None) -> bool:
    """Return whether ``rule`` fires on ``view`` given when it last fired (a bar time)."""
    if not holds(rule.tree, view):
        return False
    if not rule.repeat and previous is not None and holds(rule.tree, previous):
        return False
    bar_time = view.current.bar.time
    return last is None or bar_time - last >= max(rule.cooldown, 1)


def fired_record(rule: AlertRule, view: BarView) -> dict[str, Any]:
    """Return the signal-like record of a fired alert (strategy ``alert:<name>``)."""
    bar = view.current.bar
    side = rule.side.value if rule.side else "alert"
    return {
        "id": f"{bar.symbol}:{bar.timeframe.value}:{bar.time}:{rule.strategy}",
        "symbol": bar.symbol,
        "timeframe": bar.timeframe.value,
        "timestamp": iso_time(bar.time),
        "time": bar.time,
        "strategy": rule.strategy,
        "signal_type": side.upper(),
        "side": side,
        "confidence": 1.0,
        "price": bar.close,
        "reason": rule.condition,
        "values": trigger_values(rule.tree, view),
        "rule": rule.name,
    }
