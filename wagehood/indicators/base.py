"""The indicator port: O(1) incremental update, warm-up, exact state round trip.

Every indicator:
- ``update(x)`` consumes one *closed* input and returns its value, or ``None`` while warming
  up. ``x`` is a float (``source == "close"``) or an object with ``high``, ``low``, ``close``,
  ``volume`` and ``time`` attributes such as ``wagehood.types.Bar`` (``source == "bar"``).
- returns either a float or a frozen dataclass of floats (composites, e.g. ``MACDValue``);
  ``outputs`` lists the suffixes its values get when flattened into named columns
  (``("",)`` for one value, ``("", "_signal", "_hist")`` for MACD).
- ``warmup`` is the number of leading ``None`` results; ``ready`` is True once values flow.
- ``to_state()`` returns a flat ``dict[str, str]`` (floats via ``repr``, a ``v`` version
  field); ``from_state(params_and_state)`` restores it exactly, so that the restored object
  continues bit-for-bit identically.
- ``repr(indicator)`` is like ``EMA(12)`` and doubles as a stable id.

Revising an in-progress bar is done by the caller: keep ``to_state()`` from before the bar and
re-apply ``update`` to a copy restored with ``from_state``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Protocol, Self, runtime_checkable

Source = Literal["close", "bar"]
Value = Any  # float, or a frozen dataclass of floats for composite indicators


@runtime_checkable
class Indicator(Protocol):
    """An incremental technical indicator."""

    source: ClassVar[Source]
    outputs: ClassVar[tuple[str, ...]]

    @property
    def warmup(self) -> int:
        """Return how many inputs produce ``None`` before the first value."""
        ...

    @property
    def ready(self) -> bool:
        """Return whether the last ``update`` produced a value."""
        ...

    def update(self, x: Any) -> Value | None:
        """Consume one closed input and return the new value (``None`` while warming up)."""
        ...

    def to_state(self) -> dict[str, str]:
        """Return the complete state as a flat string mapping (parameters included)."""
        ...

    @classmethod
    def from_state(cls, state: dict[str, str]) -> Self:
        """Rebuild an indicator from ``to_state()`` output."""
        ...
