"""Plugin strategies that misbehave in every way the guard must survive (tests only)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

from wagehood.plugins import INTERFACE_VERSION, Snapshot


class _Quiet:
    interface_version: ClassVar[int] = INTERFACE_VERSION
    indicators: ClassVar[dict[str, str]] = {"rsi_14": "rsi(14)"}
    lookback: ClassVar[int] = 1


class Raising(_Quiet):
    """Raise on every closed bar."""

    name: ClassVar[str] = "raising"

    def evaluate(self, history: Sequence[Snapshot]) -> None:
        raise RuntimeError(f"boom at {history[-1].bar.time}")


class Slow(_Quiet):
    """Take ``delay`` seconds per bar and return nothing."""

    name: ClassVar[str] = "slow"

    def __init__(self, *, delay: float = 0.4) -> None:
        self.delay = delay

    def evaluate(self, history: Sequence[Snapshot]) -> None:
        time.sleep(self.delay)


class Garbage(_Quiet):
    """Return a string instead of a Signal."""

    name: ClassVar[str] = "garbage"

    def evaluate(self, history: Sequence[Snapshot]) -> str:
        return "BUY!"


class Boom:
    """An indicator that raises on every update after its first."""

    name: ClassVar[str] = "boom"
    interface_version: ClassVar[int] = INTERFACE_VERSION
    source: ClassVar[str] = "close"
    outputs: ClassVar[tuple[str, ...]] = ("",)
    parameters: ClassVar[tuple[tuple[str, type, float | None], ...]] = (("period", int, 3),)

    def __init__(self, period: int = 3) -> None:
        self.period = period
        self.count = 0

    def __repr__(self) -> str:
        return f"Boom({self.period})"

    warmup = 0
    ready = True

    def update(self, x: float) -> float:
        self.count += 1
        if self.count > 1:
            raise ZeroDivisionError("boom")
        return x

    def to_state(self) -> dict[str, str]:
        return {"v": "1", "period": str(self.period), "count": str(self.count)}

    @classmethod
    def from_state(cls, state: dict[str, str]) -> Boom:
        boom = cls(int(state["period"]))
        boom.count = int(state["count"])
        return boom


class Flaky(_Quiet):
    """Raise on every other bar, return nothing on the others."""

    name: ClassVar[str] = "flaky"

    def evaluate(self, history: Sequence[Snapshot]) -> None:
        if history[-1].bar.time // 86400 % 2:
            raise ValueError("odd day")
