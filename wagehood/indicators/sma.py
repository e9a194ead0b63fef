"""Simple moving average, as TA-Lib's ``SMA``."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import ClassVar, Self

from wagehood.indicators.base import Source

STATE_VERSION = "1"


class SMA:
    """Arithmetic mean of the last ``period`` inputs.

    Follows TA-Lib ``SMA``: a running total that adds the newest input, divides by ``period``
    and then subtracts the oldest input, in that order, so the values (and their rounding)
    are TA-Lib's own. The first value comes at input ``period`` (index ``period - 1``).

    Args:
        period: Window length, at least 1.
    """

    source: ClassVar[Source] = "close"
    outputs: ClassVar[tuple[str, ...]] = ("",)
    __slots__ = ("_total", "_value", "_window", "period")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, was {period}")
        self.period = period
        self._window: deque[float] = deque()
        self._total = 0.0
        self._value: float | None = None

    def __repr__(self) -> str:
        return f"SMA({self.period})"

    @property
    def warmup(self) -> int:
        """Return how many inputs produce ``None`` before the first value."""
        return self.period - 1

    @property
    def ready(self) -> bool:
        """Return whether the last ``update`` produced a value."""
        return self._value is not None

    def update(self, x: float) -> float | None:
        """Consume one close and return the mean of the window, ``None`` until it is full."""
        window = self._window
        window.append(x)
        total = self._total + x
        if len(window) < self.period:
            self._total = total
            return None
        value = total / self.period
        self._total = total - window.popleft()
        self._value = value
        return value

    def to_state(self) -> dict[str, str]:
        """Return the complete state as a flat string mapping."""
        return {
            "v": STATE_VERSION,
            "period": str(self.period),
            "total": repr(self._total),
            "window": encode_floats(self._window),
            "value": encode_optional(self._value),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, str]) -> Self:
        """Rebuild an SMA from ``to_state()`` output."""
        check_version(state, STATE_VERSION)
        sma = cls(int(state["period"]))
        sma._total = float(state["total"])
        sma._window.extend(decode_floats(state["window"]))
        sma._value = decode_optional(state["value"])
        return sma


# Shared by the other indicator modules: how floats and versions appear in a state mapping.


def encode_optional(value: float | None) -> str:
    """Return ``repr(value)``, or ``""`` for ``None``."""
    return "" if value is None else repr(value)


def decode_optional(text: str) -> float | None:
    """Invert ``encode_optional``."""
    return None if text == "" else float(text)


def encode_floats(values: Iterable[float]) -> str:
    """Return the values as one comma-separated string of ``repr``s."""
    return ",".join(map(repr, values))


def decode_floats(text: str) -> list[float]:
    """Invert ``encode_floats``."""
    return [float(part) for part in text.split(",")] if text else []


def check_version(state: Mapping[str, str], expected: str) -> None:
    """Raise ``ValueError`` unless ``state`` carries schema version ``expected``."""
    found = state.get("v")
    if found != expected:
        raise ValueError(f"unsupported indicator state version {found!r}, expected {expected!r}")


def substate(state: Mapping[str, str], prefix: str) -> dict[str, str]:
    """Return the entries of ``state`` under ``prefix`` (e.g. ``"fast."``), prefix removed."""
    size = len(prefix)
    return {key[size:]: value for key, value in state.items() if key.startswith(prefix)}


def prefixed(state: Mapping[str, str], prefix: str) -> dict[str, str]:
    """Return ``state`` with every key put under ``prefix``."""
    return {prefix + key: value for key, value in state.items()}
