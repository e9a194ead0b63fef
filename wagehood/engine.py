"""The per-symbol, per-timeframe indicator engine shared by the workers and ``replay``.

An ``Engine`` applies closed bars, in bar-time order and at most once each (a bar whose time is
not after the last applied one is refused), to an ``IndicatorSet`` and counts them. Its state
is a small string mapping (the indicators packed into one field, see
``wagehood.indicators.packing``), so a worker can keep it in a Redis hash and any other worker
can continue from it exactly.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from wagehood.errors import ValidationError
from wagehood.indicators.registry import IndicatorSet
from wagehood.strategies.registry import StrategySet
from wagehood.types import Bar, Signal, Snapshot, Timeframe

STATE_VERSION = "2"
# Version 1 kept every indicator field under this prefix (one hash field each); it is still
# read, and the next save replaces it (``stale_fields``).
_V1_PREFIX = "ind."


def merge_specs(configured: Mapping[str, str], strategies: StrategySet) -> dict[str, str]:
    """Return the configured indicator specs plus those the strategies need.

    Raises:
        ValidationError: a column is configured with one spec and needed with another.
    """
    merged = dict(configured)
    for name, spec in strategies.indicators.items():
        if merged.setdefault(name, spec) != spec:
            raise ValidationError(
                f"indicator {name!r} is configured as {merged[name]!r} but a strategy needs {spec!r}",
                field="indicators",
            )
    return merged


def specs_fingerprint(specs: Mapping[str, str]) -> str:
    """Return a canonical text for ``specs``; a change means the state must be re-warmed."""
    return _fingerprint(tuple(specs.items()))


# Both directions are cached: every bar close loads and saves an engine of the same few specs.
@lru_cache(maxsize=256)
def _fingerprint(specs: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(dict(specs), sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=256)
def _specs_from(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(json.loads(text).items())


@dataclass
class Engine:
    """Indicators of one symbol and timeframe, fed with closed bars."""

    symbol: str
    timeframe: Timeframe
    indicators: IndicatorSet
    bars_processed: int = 0
    last_bar_time: int | None = None
    # The state this engine was loaded from, if any (``state_changes`` diffs against it).
    saved: Mapping[str, str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def new(cls, symbol: str, timeframe: Timeframe, specs: Mapping[str, str]) -> Engine:
        """Return an engine with no bars applied."""
        return cls(symbol, timeframe, IndicatorSet(specs))

    @property
    def fingerprint(self) -> str:
        """Return the fingerprint of the indicator specs this engine computes."""
        return specs_fingerprint(self.indicators.specs)

    def accepts(self, bar: Bar) -> bool:
        """Return whether ``bar`` is later than every bar applied so far."""
        return self.last_bar_time is None or bar.time > self.last_bar_time

    def apply(self, bar: Bar) -> Snapshot | None:
        """Apply a closed bar; return its snapshot, or ``None`` if it was already applied."""
        if not self.accepts(bar):
            return None
        values = self.indicators.update(bar)
        self.bars_processed += 1
        self.last_bar_time = bar.time
        return Snapshot(bar, values)

    def to_state(self) -> dict[str, str]:
        """Return the full state as a flat string mapping."""
        state = {
            "v": STATE_VERSION,
            "specs": self.fingerprint,
            "bars_processed": str(self.bars_processed),
        }
        if self.last_bar_time is not None:
            state["last_bar_time"] = str(self.last_bar_time)
        state["state"] = self.indicators.pack()
        return state

    def state_changes(self) -> dict[str, str]:
        """Return the entries of ``to_state()`` that differ from the state it was loaded from.

        Writing these over the loaded hash gives exactly ``to_state()`` (plus any stale
        fields the hash had, which ``from_state`` ignores as before). An engine not loaded
        with ``from_state`` returns its whole state.
        """
        state = self.to_state()
        saved = self.saved
        if saved is None:
            return state
        return {key: value for key, value in state.items() if saved.get(key) != value}

    def stale_fields(self) -> list[str]:
        """Return the fields of the loaded state that ``to_state()`` no longer writes.

        A state saved by version 1 (one field per indicator value) is migrated by writing
        ``state_changes()`` and deleting these.
        """
        saved = self.saved or {}
        return [key for key in saved if key.startswith(_V1_PREFIX)]

    @classmethod
    def from_state(cls, symbol: str, timeframe: Timeframe, state: Mapping[str, str]) -> Engine:
        """Rebuild an engine from ``to_state()`` output (kept as ``saved``).

        Also reads the state of version 1 (every indicator field under ``ind.``).
        """
        specs = dict(_specs_from(state["specs"]))
        last = state.get("last_bar_time")
        if state.get("v") == STATE_VERSION:
            indicators = IndicatorSet.unpack(specs, state["state"])
        else:
            indicators = IndicatorSet.from_state(specs, state, _V1_PREFIX)
        return cls(
            symbol,
            timeframe,
            indicators,
            int(state.get("bars_processed", "0")),
            int(last) if last is not None else None,
            state,
        )


@dataclass(frozen=True)
class ReplayRow:
    """One applied bar of a replay: its snapshot and the signals it produced."""

    snapshot: Snapshot
    signals: list[Signal]


def replay(
    bars: Iterable[Bar],
    specs: Mapping[str, str],
    strategies: StrategySet,
) -> Iterator[ReplayRow]:
    """Feed closed ``bars`` through indicators and strategies exactly as the workers do.

    Bars must all belong to one symbol and timeframe; a bar not later than the previous one is
    skipped, as the workers skip it.
    """
    engine: Engine | None = None
    window: deque[Snapshot] = deque(maxlen=strategies.lookback)
    for bar in bars:
        if engine is None:
            engine = Engine.new(bar.symbol, bar.timeframe, merge_specs(specs, strategies))
        snapshot = engine.apply(bar)
        if snapshot is None:
            continue
        window.append(snapshot)
        yield ReplayRow(snapshot, strategies.evaluate(list(window)))
