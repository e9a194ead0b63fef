"""A deterministic simulated market: any number of processes agree without sharing state.

The price of a symbol at second ``t`` is a geometric Brownian motion without log drift,
``S(t) = S0 * exp(sigma * W(t))``, so the median price stays at ``S0``. ``W`` is a Brownian
path (time in years) built by Lévy's dyadic Brownian-bridge construction: the value at the
end of a 2**32-second horizon is drawn first, then each interval's midpoint given its two
ends, down to one second. Evaluating ``W(t)`` walks one branch of that tree (32 levels,
O(log T)); every standard normal comes from a hash of (seed, symbol, level, index) through
Box-Muller, so nothing is remembered between calls and an offline replay regenerates the
same numbers. ``W(0) = 0`` at ``REFERENCE_TIME`` (2024-01-01 UTC); times before it use an
independent branch, so the path covers 1888-2160.

Per symbol, hash-derived: ``S0`` log-uniform in $10-$800, annual volatility uniform in
15%-60% (applied over calendar time: the mock trades 24/7), and a typical traded volume.
A quote's time is ``now`` floored to whole seconds; its price is rounded to 4 decimals; its
volume is the lognormal number of shares traded in the one second ending at the quote, so a
caller polling every ``k`` seconds sees about 1/k of the true volume.

History (``get_bars``) is drawn from the same path, so it joins live quotes seamlessly: a
bar starting at ``T`` of length ``L`` opens at the quote price of second ``T`` and closes at
that of second ``T + L - 1``, the second before the next bar's open. High and low are the
extremes over a sample of the bar, not over all ``L`` seconds: the open, the close, and the
points of the dyadic grid of step ``2**k`` inside the bar, with ``k`` the largest that leaves
at least ``BAR_SAMPLES`` grid points (1m: every 4 s; 5m: 32 s; 1h: 256 s; 1d: 8,192 s).
Grid points are nodes of the bridge tree, so a batch of them costs about two normals each
(the tree walked once for all of them), and a bar costs O(BAR_SAMPLES) whatever its length.
A coarser bar's high and low may therefore sit inside the finer bars' range; opens and
closes agree across timeframes. A bar's volume is one lognormal draw per (symbol, length,
start) with the mean and variance of ``L`` one-second volumes: deterministic, but not the
sum of the finer bars' volumes. Every value is a pure function of (seed, symbol, time).
"""

from __future__ import annotations

import hashlib
import logging
import math
import struct
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from wagehood.errors import ValidationError
from wagehood.providers.base import HistoryResult, ProviderResult
from wagehood.types import Bar, Quote, Timeframe, validate_symbol

logger = logging.getLogger(__name__)

REFERENCE_TIME = 1_704_067_200  # 2024-01-01T00:00:00Z, where W(t) = 0
LEVELS = 32  # the bridge spans 2**LEVELS seconds each side of REFERENCE_TIME
HORIZON = 1 << LEVELS
SECONDS_PER_YEAR = 365.25 * 86400
BLOCK = 4  # tree levels served by one 64-byte blake2b digest (15 normals + 1 spare)
VOLUME_SIGMA = 0.8  # dispersion of the per-second lognormal volume
MAX_BARS = 50_000  # bars of one symbol one call may return: the newest
BAR_SAMPLES = 8  # a historical bar samples at least this many grid points (module docstring)

_TWO_PI = 2.0 * math.pi
_UNIT = 1.0 / 2**32
_UNPACK = struct.Struct("<16I").unpack
_KEY = struct.Struct("<bbq").pack
# Standard deviation of a midpoint given its interval's ends, per level, in sqrt(years).
_HALF_SD = [0.5 * math.sqrt((HORIZON >> level) / SECONDS_PER_YEAR) for level in range(LEVELS)]
_TOP_SD = math.sqrt(HORIZON / SECONDS_PER_YEAR)


@dataclass(frozen=True, slots=True)
class SymbolModel:
    """The hash-derived constants of one symbol's simulated market."""

    symbol: str
    start_price: float
    volatility: float  # annual
    volume_scale: float  # mean shares traded per second
    hasher: hashlib.blake2b  # blake2b primed with (seed, symbol)


class MockProvider:
    """Deterministic simulated quotes and bars for any valid symbol (see the module docstring)."""

    name: ClassVar[str] = "mock"
    max_batch: ClassVar[int] = 1000

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed

    def get_quotes(self, symbols: Sequence[str], now: float) -> ProviderResult:
        """Return a simulated quote for every valid symbol at ``now``."""
        quotes: list[Quote] = []
        failed: dict[str, str] = {}
        for symbol in symbols:
            try:
                quotes.append(self.quote_at(symbol, now))
            except ValidationError as error:
                failed[symbol] = f"mock: {error}"
        return ProviderResult(quotes=quotes, failed=failed)

    def quote_at(self, symbol: str, t: float) -> Quote:
        """Return the quote of ``symbol`` at time ``t`` floored to whole seconds.

        Raises:
            ValidationError: ``symbol`` is invalid or ``t`` is outside the simulated span.
        """
        model = symbol_model(self.seed, validate_symbol(symbol))
        second = math.floor(t)
        offset = second - REFERENCE_TIME
        if abs(offset) > HORIZON:
            raise ValidationError(f"time {t} is outside the simulated years 1888-2160", "now")
        price = model.start_price * math.exp(
            model.volatility * brownian_at(model, self.seed, offset)
        )
        return Quote(
            symbol=model.symbol,
            time=float(second),
            price=round(price, 4),
            volume=_volume(model, offset),
        )

    def get_bars(
        self, symbols: Sequence[str], timeframe: Timeframe, start: int, end: int
    ) -> HistoryResult:
        """Return the closed bars with ``start <= time < end`` drawn from each symbol's path.

        Bars outside the simulated years are left out (no data there), and so are all but
        the newest ``MAX_BARS`` of a longer range (the simulated vendor's reach).
        """
        bars: dict[str, list[Bar]] = {}
        failed: dict[str, str] = {}
        for symbol in dict.fromkeys(symbols):
            try:
                model = symbol_model(self.seed, validate_symbol(symbol))
            except ValidationError as error:
                failed[symbol] = f"mock: {error}"
                continue
            bars[model.symbol] = _bars(model, timeframe, start, end)
        return HistoryResult(bars=bars, failed=failed)

    def close(self) -> None:
        """Release nothing: the mock holds no connections."""


@lru_cache(maxsize=65536)
def symbol_model(seed: int, symbol: str) -> SymbolModel:
    """Return the constants of ``symbol`` under ``seed`` (pure; cached)."""
    hasher = hashlib.blake2b(digest_size=64, person=b"wagehood-mock")
    hasher.update(f"{seed}\0{symbol}\0".encode())
    u = [(value + 0.5) * _UNIT for value in _UNPACK(_digest(hasher, -1, 0, 0))]
    start_price = 10.0 * 80.0 ** u[0]  # log-uniform in [10, 800]
    daily_dollars = 2e7 * 250.0 ** u[2]  # log-uniform in $20M-$5B a day
    return SymbolModel(
        symbol=symbol,
        start_price=start_price,
        volatility=0.15 + 0.45 * u[1],
        volume_scale=daily_dollars / start_price / 86400,
        hasher=hasher,
    )


def brownian(hasher: hashlib.blake2b, offset: int) -> float:
    """Return W at ``offset`` seconds from the reference time, in sqrt(years).

    Walk the dyadic bridge from the horizon down to the one-second interval holding the
    offset; each 64-byte digest supplies the 16 uniforms of four tree levels (15 midpoint
    normals by Box-Muller, the spare one drawing the horizon's end).
    """
    if offset == 0:
        return 0.0
    branch = 1 if offset > 0 else 0
    top, uniforms = _top(hasher, branch)
    found = _descend(hasher, branch, abs(offset), levels=range(LEVELS), walk=top, uniforms=uniforms)
    return _end(found, abs(offset))


# The first SHARED_LEVELS levels of the walk are the same for every second strictly inside
# one block of BLOCK_SECONDS, so a poller asking for consecutive seconds walks them once per
# block (cached) and only the last levels per quote: 3 digests instead of 8, same numbers.
SHARED_LEVELS = 20
BLOCK_SECONDS = HORIZON >> SHARED_LEVELS  # 4,096 s


def brownian_at(model: SymbolModel, seed: int, offset: int) -> float:
    """Return ``brownian(model.hasher, offset)``, reusing the walk shared by its block."""
    target = abs(offset)
    if target % BLOCK_SECONDS == 0:  # 0, a block's edge, or the horizon: no shared walk
        return brownian(model.hasher, offset)
    branch = 1 if offset > 0 else 0
    block = _block(seed, model.symbol, branch, target // BLOCK_SECONDS)
    found = _descend(
        model.hasher, branch, target, levels=range(SHARED_LEVELS, LEVELS), walk=block, uniforms=()
    )
    return _end(found, target)


# A walk's position: (left, right, index, W(left), W(right)).
_Walk = tuple[int, int, int, float, float]


@lru_cache(maxsize=65536)
def _block(seed: int, symbol: str, branch: int, block: int) -> _Walk:
    hasher = symbol_model(seed, symbol).hasher
    top, uniforms = _top(hasher, branch)
    inside = block * BLOCK_SECONDS + 1
    walk = _descend(
        hasher, branch, inside, levels=range(SHARED_LEVELS), walk=top, uniforms=uniforms
    )
    if isinstance(walk, float):  # cannot happen: a block's inside is no upper midpoint
        raise TypeError(f"walk to {inside} ended early")
    return walk


def _top(hasher: hashlib.blake2b, branch: int) -> tuple[_Walk, tuple[int, ...]]:
    # The whole horizon (W(0) = 0, W at the horizon drawn by the first digest's spare
    # uniform) and that digest's uniforms, which the first levels go on to use.
    uniforms = _UNPACK(_digest(hasher, branch, 0, 0))
    return (0, HORIZON, 0, 0.0, _TOP_SD * _normal(uniforms, 15)), uniforms


def _descend(
    hasher: hashlib.blake2b,
    branch: int,
    target: int,
    *,
    levels: range,
    walk: _Walk,
    uniforms: tuple[int, ...],
) -> float | _Walk:
    # ``levels`` of the walk towards ``target``: W at ``target`` if it is one of
    # their midpoints, else the position reached. ``uniforms`` are those of the first
    # level's block of levels (unused when that level starts a block: it draws its own).
    left, right, index, w_left, w_right = walk
    for level in levels:
        normal, uniforms = _node_normal(hasher, branch, level, index, uniforms)
        middle = (left + right) >> 1
        w_middle = 0.5 * (w_left + w_right) + _HALF_SD[level] * normal
        if target < middle:
            right, w_right, index = middle, w_middle, index << 1
        elif target > middle:
            left, w_left, index = middle, w_middle, (index << 1) | 1
        else:
            return w_middle
    return (left, right, index, w_left, w_right)


def _node_normal(
    hasher: hashlib.blake2b, branch: int, level: int, index: int, uniforms: tuple[int, ...]
) -> tuple[float, tuple[int, ...]]:
    # The standard normal of node ``index`` at ``level`` (Box-Muller on its pair of uniforms),
    # and the uniforms of its block of levels (drawn anew where the level starts a block).
    depth = level & 3  # BLOCK == 4
    if not depth and level:
        uniforms = _UNPACK(_digest(hasher, branch, level, index))
    node = (1 << depth) - 1 + (index & ((1 << depth) - 1))
    pair = node & ~1
    radius = math.sqrt(-2.0 * math.log((uniforms[pair] + 0.5) * _UNIT))
    angle = _TWO_PI * (uniforms[pair + 1] + 0.5) * _UNIT
    return radius * (math.sin(angle) if node & 1 else math.cos(angle)), uniforms


def _end(found: float | _Walk, target: int) -> float:
    # W at ``target``: found on a midpoint, else at whichever end of the last interval it is.
    if isinstance(found, float):
        return found
    _, right, _, w_left, w_right = found
    return w_right if target == right else w_left


def _digest(hasher: hashlib.blake2b, branch: int, level: int, index: int) -> bytes:
    copy = hasher.copy()
    copy.update(_KEY(branch, level, index))
    return copy.digest()


# Standard normal number ``node`` (0-15) of a block by Box-Muller on uniform pair node // 2.
def _normal(uniforms: tuple[int, ...], node: int) -> float:
    pair = node & ~1
    radius = math.sqrt(-2.0 * math.log((uniforms[pair] + 0.5) * _UNIT))
    angle = _TWO_PI * (uniforms[pair + 1] + 0.5) * _UNIT
    return radius * (math.cos(angle) if node % 2 == 0 else math.sin(angle))


def _volume(model: SymbolModel, offset: int) -> float:
    uniforms = _UNPACK(_digest(model.hasher, 2, 0, offset))
    mean_log = -0.5 * VOLUME_SIGMA**2  # keeps the mean at volume_scale
    return float(
        round(model.volume_scale * math.exp(mean_log + VOLUME_SIGMA * _normal(uniforms, 0)))
    )


def _bars(model: SymbolModel, timeframe: Timeframe, start: int, end: int) -> list[Bar]:
    # The bars of one symbol (module docstring): sample every bar, walk the tree once.
    length = timeframe.seconds
    last = min(end, REFERENCE_TIME + HORIZON - length + 1)
    first = max(-(-start // length) * length, REFERENCE_TIME - HORIZON)
    first = max(first, -(-last // length) * length - MAX_BARS * length)
    step = 1 << max(0, (length // BAR_SAMPLES).bit_length() - 1)
    samples = [
        _bar_samples(time - REFERENCE_TIME, length, step) for time in range(first, last, length)
    ]
    path = _brownian_many(model.hasher, [offset for points in samples for offset in points])
    scale, volatility, exp = model.start_price, model.volatility, math.exp
    bars = []
    for time, points in zip(range(first, last, length), samples, strict=True):
        walk = [path[offset] for offset in points]  # the price rises with W: 4 prices suffice
        high, low = max(walk), min(walk)
        bars.append(
            Bar(
                model.symbol,
                timeframe,
                time,
                round(scale * exp(volatility * walk[0]), 4),
                round(scale * exp(volatility * high), 4),
                round(scale * exp(volatility * low), 4),
                round(scale * exp(volatility * walk[-1]), 4),
                _bar_volume(model, time - REFERENCE_TIME, length),
            )
        )
    return bars


# Offsets sampled in the bar starting at ``offset``: its first second, the grid points of
# ``step`` strictly inside, its last second; ascending.
def _bar_samples(offset: int, length: int, step: int) -> list[int]:
    final = offset + length - 1
    inside = range(offset - offset % step + step, final, step)
    return [offset, *inside, final]


def _brownian_many(hasher: hashlib.blake2b, offsets: Sequence[int]) -> dict[int, float]:
    # ``brownian(hasher, offset)`` for every offset, walking each tree node needed once.
    path = {0: 0.0} if 0 in offsets else {}
    for branch in (0, 1):
        targets = sorted({abs(o) for o in offsets if o and (o > 0) == bool(branch)})
        sign = 1 if branch else -1
        for target, value in _descend_many(hasher, branch, targets):
            path[sign * target] = value
    return path


def _descend_many(
    hasher: hashlib.blake2b, branch: int, targets: list[int]
) -> list[tuple[int, float]]:
    # The walk of ``_descend`` for sorted ``targets`` (1..HORIZON) at once, depth first.
    if not targets:
        return []
    (_, right, _, _, w_right), uniforms = _top(hasher, branch)
    found = []
    if targets[-1] == right:
        found.append((right, w_right))
        targets = targets[:-1]
    stack = [(0, 0, right, 0, 0.0, w_right, uniforms, 0, len(targets))]
    while stack:
        level, left, right, index, w_left, w_right, uniforms, lo, hi = stack.pop()
        normal, uniforms = _node_normal(hasher, branch, level, index, uniforms)
        middle = (left + right) >> 1
        w_middle = 0.5 * (w_left + w_right) + _HALF_SD[level] * normal
        split = bisect_left(targets, middle, lo, hi)
        after = split
        if split < hi and targets[split] == middle:
            found.append((middle, w_middle))
            after += 1
        if split > lo:
            stack.append(
                (level + 1, left, middle, index << 1, w_left, w_middle, uniforms, lo, split)
            )
        if hi > after:
            stack.append(
                (level + 1, middle, right, (index << 1) | 1, w_middle, w_right, uniforms, after, hi)
            )
    return found


def _bar_volume(model: SymbolModel, offset: int, length: int) -> float:
    # One lognormal draw with the mean and variance of ``length`` one-second volumes.
    uniforms = _UNPACK(_digest(model.hasher, 3, length.bit_length(), offset))
    variance = math.log1p(math.expm1(VOLUME_SIGMA**2) / length)
    draw = math.exp(math.sqrt(variance) * _normal(uniforms, 0) - 0.5 * variance)
    return float(round(model.volume_scale * length * draw))
