"""Indicators by kind, spec strings such as ``"macd(12,26,9)"``, and named sets of them."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Self

from wagehood.errors import ValidationError
from wagehood.indicators import packing
from wagehood.indicators.atr import ATR
from wagehood.indicators.base import Indicator
from wagehood.indicators.bollinger import BollingerBands
from wagehood.indicators.ema import EMA
from wagehood.indicators.macd import MACD
from wagehood.indicators.obv import OBV
from wagehood.indicators.rsi import RSI
from wagehood.indicators.sma import SMA, substate
from wagehood.indicators.stochastic import Stochastic
from wagehood.indicators.vwap import VWAP

FIELD = "indicators"

INDICATORS: dict[str, type[Any]] = {
    "sma": SMA,
    "ema": EMA,
    "rsi": RSI,
    "macd": MACD,
    "bbands": BollingerBands,
    "atr": ATR,
    "stoch": Stochastic,
    "obv": OBV,
    "vwap": VWAP,
}

# Each kind's parameters in order: (name, type, default or None when required).
PARAMETERS: dict[str, tuple[tuple[str, type, float | None], ...]] = {
    "sma": (("period", int, None),),
    "ema": (("period", int, None),),
    "rsi": (("period", int, 14),),
    "macd": (("fast", int, 12), ("slow", int, 26), ("signal", int, 9)),
    "bbands": (("period", int, 20), ("nbdev", float, 2.0)),
    "atr": (("period", int, 14),),
    "stoch": (("fastk", int, 14), ("slowk", int, 3), ("slowd", int, 3)),
    "obv": (),
    "vwap": (),
}

DEFAULT_INDICATORS: dict[str, str] = {
    "sma_20": "sma(20)",
    "sma_50": "sma(50)",
    "ema_12": "ema(12)",
    "ema_26": "ema(26)",
    "rsi_14": "rsi(14)",
    "macd": "macd(12,26,9)",
    "bb": "bbands(20,2.0)",
    "atr_14": "atr(14)",
}

# Bounds of spec parameters: periods (every integer parameter) and multipliers (every float
# one, e.g. Bollinger's nbdev). A period's window is kept in the state of every symbol and
# timeframe, and a multiplier near the float limit overflows to inf.
MAX_PERIOD = 1000
MAX_MULTIPLIER = 10.0

# Where plugin indicators come from: the plugin loader (``wagehood.plugins.loader``) sets a
# function returning the loaded classes by kind, so the registry depends on no plugin code.
_PLUGINS: list[Callable[[], Mapping[str, type[Any]]]] = []

_SPEC = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\(([^()]*)\))?\s*$")


def parse_spec(spec: str) -> tuple[str, tuple[float, ...]]:
    """Split ``"macd(12,26,9)"`` into ``("macd", (12.0, 26.0, 9.0))``.

    ``"obv()"`` and ``"obv"`` both give ``("obv", ())``. The kind is lower-cased; it is not
    checked against the registry here (``build`` does that).

    Raises:
        ValidationError: The text is not ``kind`` or ``kind(number, ...)``.
    """
    match = _SPEC.match(spec) if isinstance(spec, str) else None
    if match is None:
        raise ValidationError(
            f"invalid indicator spec {spec!r}: write kind(parameters), e.g. 'sma(20)'",
            field=FIELD,
        )
    kind, inside = match.group(1).lower(), (match.group(2) or "").strip()
    if not inside:
        return kind, ()
    return kind, tuple(_parse_number(spec, part) for part in inside.split(","))


def _parse_number(spec: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValidationError(
            f"invalid parameter {text.strip()!r} in indicator spec {spec!r}: expected a number",
            field=FIELD,
        )
    return value


def build(spec: str) -> Indicator:
    """Return a fresh indicator for ``spec``, e.g. ``build("ema(12)")`` is ``EMA(12)``.

    Missing trailing parameters take their defaults (``"rsi()"`` is ``RSI(14)``).

    Raises:
        ValidationError: Unknown kind (the message lists the choices), wrong number of
            parameters, a non-integer where an integer is needed, or a value the indicator
            rejects.
    """
    kind, values = parse_spec(spec)
    known = kinds()
    if kind not in known:
        choices = ", ".join(known)
        raise ValidationError(
            f"unknown indicator {kind!r} in {spec!r}; choose one of {choices}", field=FIELD
        )
    arguments = _arguments(spec, kind, values)
    try:
        indicator: Indicator = known[kind](*arguments)
    except ValueError as error:
        raise ValidationError(f"invalid indicator spec {spec!r}: {error}", field=FIELD) from error
    return indicator


def kinds() -> dict[str, type[Any]]:
    """Return the indicator classes by kind: the built-ins and the loaded plugins."""
    return {**INDICATORS, **(_PLUGINS[0]() if _PLUGINS else {})}


def use_plugins(classes: Callable[[], Mapping[str, type[Any]]]) -> None:
    """Take the plugin indicators from ``classes()`` from now on (the plugin loader calls it)."""
    _PLUGINS[:] = [classes]
    forget_built_specs()


def forget_built_specs() -> None:
    """Drop what is cached per spec (its class): the plugin classes changed."""
    _blueprint.cache_clear()


def _arguments(spec: str, kind: str, values: tuple[float, ...]) -> list[float]:
    parameters = PARAMETERS[kind] if kind in PARAMETERS else kinds()[kind].parameters
    required = sum(default is None for _, _, default in parameters)
    if not required <= len(values) <= len(parameters):
        names = ", ".join(name for name, _, _ in parameters) or "no parameters"
        raise ValidationError(
            f"{kind} takes {_count_text(required, len(parameters))} ({names}), "
            f"got {len(values)} in {spec!r}",
            field=FIELD,
        )
    return [
        _convert(spec, parameter, value)
        for parameter, value in zip(parameters, values, strict=False)
    ]


def _count_text(low: int, high: int) -> str:
    return f"{high} parameter{'s' * (high != 1)}" if low == high else f"{low} to {high} parameters"


def _convert(spec: str, parameter: tuple[str, type, float | None], value: float) -> float:
    name, kind, _ = parameter
    if kind is int:
        if not value.is_integer():
            raise ValidationError(
                f"{name} must be an integer, was {value} in {spec!r}", field=FIELD
            )
        if value > MAX_PERIOD:  # below 1: the indicator's own check names it
            raise ValidationError(
                f"{name} must be at most {MAX_PERIOD}, was {value:g} in {spec!r}", field=FIELD
            )
        return int(value)
    if value > MAX_MULTIPLIER:
        raise ValidationError(
            f"{name} must be at most {MAX_MULTIPLIER:g}, was {value:g} in {spec!r}", field=FIELD
        )
    return value


# One plan step: the bound update, whether it takes the bar (else the close), and the column
# names its outputs go to (one name, or a composite's tuple of names).
_Step = tuple[Callable[[Any], Any], bool, str | tuple[str, ...]]


class IndicatorSet:
    """Named indicators updated together from bars, flattened into named columns.

    ``IndicatorSet({"sma_20": "sma(20)", "macd": "macd(12,26,9)"})`` has the columns
    ``sma_20, macd, macd_signal, macd_hist``: each name followed by its indicator's output
    suffixes, in spec order.

    Args:
        specs: Column name prefix -> indicator spec.

    Raises:
        ValidationError: A spec is invalid.
    """

    def __init__(self, specs: Mapping[str, str]) -> None:
        plan = _blueprint(tuple(specs.items()))
        self._setup(specs, {name: kind(*args) for name, kind, args, _ in plan})

    def _setup(self, specs: Mapping[str, str], indicators: dict[str, Indicator]) -> None:
        self.specs: dict[str, str] = dict(specs)
        self._indicators: dict[str, Indicator] = indicators
        self._columns = tuple(
            name + suffix for name, indicator in indicators.items() for suffix in indicator.outputs
        )
        self._empty_row: dict[str, float | None] = dict.fromkeys(self._columns)
        self._make_plan()

    def __repr__(self) -> str:
        return f"IndicatorSet({self.specs!r})"

    def __reduce__(self) -> tuple[Any, tuple[dict[str, str], str]]:
        # Copy and pickle through the exact packed state.
        return (type(self).unpack, (self.specs, self.pack()))

    def _make_plan(self) -> None:
        # The hot path is specialised: single-output indicators fed the close (most of a set)
        # are called in one tight loop, the others in a second one.
        singles: list[tuple[str, Callable[[Any], Any]]] = []
        others: list[_Step] = []
        for name, indicator in self._indicators.items():
            outputs = indicator.outputs
            by_bar = indicator.source == "bar"
            if len(outputs) == 1 and not by_bar:
                singles.append((name + outputs[0], indicator.update))
            else:
                where = name + outputs[0] if len(outputs) == 1 else tuple(name + o for o in outputs)
                others.append((_updater(indicator), by_bar, where))
        self._singles = tuple(singles)
        self._others = tuple(others)

    @property
    def columns(self) -> list[str]:
        """Return the flattened output names (name + output suffix), in spec order."""
        return list(self._columns)

    @property
    def warmup(self) -> int:
        """Return the longest warm-up among the indicators."""
        return max((i.warmup for i in self._indicators.values()), default=0)

    @property
    def indicators(self) -> dict[str, Indicator]:
        """Return the indicator objects by name, up to date with every ``update``."""
        return self._indicators

    def update(self, bar: Any) -> dict[str, float | None]:
        """Feed one closed bar (its close, or the bar itself) to every indicator.

        Returns:
            Every column, ``None`` while its indicator warms up.
        """
        close = bar.close
        row = self._empty_row.copy()
        for column, update in self._singles:
            row[column] = update(close)
        for update, wants_bar, where in self._others:
            value = update(bar if wants_bar else close)
            if value is None:
                continue
            if type(where) is str:
                row[where] = value
            else:
                row.update(zip(where, value, strict=True))
        return row

    def to_state(self, prefix: str = "") -> dict[str, str]:
        """Return every indicator's state, each under ``prefix + "<name>."``."""
        state: dict[str, str] = {}
        for name, indicator in self.indicators.items():
            head = f"{prefix}{name}."
            for key, value in indicator.to_state().items():
                state[head + key] = value
        return state

    def pack(self) -> str:
        """Return the compact, exact state of every indicator (``wagehood.indicators.packing``)."""
        return packing.pack(self._indicators)

    @classmethod
    def unpack(cls, specs: Mapping[str, str], text: str) -> Self:
        """Rebuild a set from its specs and ``pack()`` output.

        Raises:
            ValueError: The text was not packed for these specs.
        """
        indicators = packing.unpack(_templates(tuple(specs.items())), text)
        restored = cls.__new__(cls)
        restored._setup(specs, indicators)
        return restored

    @classmethod
    def from_state(
        cls, specs: Mapping[str, str], state: Mapping[str, str], prefix: str = ""
    ) -> Self:
        """Rebuild a set from its specs and ``to_state(prefix)`` output.

        Each indicator is restored from its own entries, found in one pass over ``state``;
        no fresh indicator is built (the expected ``repr`` of each spec is cached).

        Raises:
            ValueError: The state is missing an indicator or was saved for other parameters.
        """
        groups = _group(state, prefix)
        indicators: dict[str, Indicator] = {}
        for name, kind, _, expected in _blueprint(tuple(specs.items())):
            part = groups.get(name, {}) if "." not in name else substate(state, f"{prefix}{name}.")
            try:
                indicator = kind.from_state(part)
            except KeyError as error:
                raise ValueError(f"state of {name!r} lacks the field {error}") from error
            except ValueError as error:
                raise ValueError(f"state of {name!r}: {error}") from error
            if repr(indicator) != expected:
                raise ValueError(f"state of {name!r} is {indicator!r}, spec is {expected}")
            indicators[name] = indicator
        restored = cls.__new__(cls)
        restored._setup(specs, indicators)
        return restored


def _updater(indicator: Any) -> Callable[[Any], Any]:
    # The step to call: ``update``, or a composite's ``update_values`` (a plain tuple).
    if len(indicator.outputs) == 1:
        update: Callable[[Any], Any] = indicator.update
        return update
    update_values: Callable[[Any], Any] = indicator.update_values
    return update_values


@lru_cache(maxsize=256)
def _blueprint(
    specs: tuple[tuple[str, str], ...],
) -> tuple[tuple[str, type[Any], tuple[Any, ...], str], ...]:
    # Per spec, parsed and validated once: the class, its arguments and the repr it has.
    plan = []
    for name, spec in specs:
        indicator = build(spec)
        kind, values = parse_spec(spec)
        plan.append((name, type(indicator), tuple(_arguments(spec, kind, values)), repr(indicator)))
    return tuple(plan)


@lru_cache(maxsize=256)
def _templates(specs: tuple[tuple[str, str], ...]) -> dict[str, Indicator]:
    # A fresh indicator per column, never updated: what ``packing.unpack`` restores into.
    return {name: kind(*args) for name, kind, args, _ in _blueprint(specs)}


def _group(state: Mapping[str, str], prefix: str) -> dict[str, dict[str, str]]:
    # One pass: "<prefix>sma_20.window" -> groups["sma_20"]["window"].
    size = len(prefix)
    groups: dict[str, dict[str, str]] = {}
    for key, value in state.items():
        if key.startswith(prefix):
            name, dot, rest = key[size:].partition(".")
            if dot:
                groups.setdefault(name, {})[rest] = value
    return groups
