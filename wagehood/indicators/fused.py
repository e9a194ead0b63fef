"""One fused, generated step for a whole indicator set: the per-bar hot path.

Updating eight indicator objects costs eight method calls and dozens of attribute reads and
writes per bar. Here the steady-state step of every indicator in a set is written out, once
per set of specs, as the body of one generator (the way ``dataclasses`` and ``namedtuple``
generate their methods): between bars the state lives in the generator's fast locals, and a
bar is one ``send``. The generated statements are the indicator classes' own operations in
the same order, so every value is bit-for-bit what the objects compute; the objects stay the
source of truth for warm-up and for ``to_state``:

- until every inlined indicator is warm, each bar goes through the objects (``slow``);
- then their state is loaded into locals and the fused loop runs;
- ``send(None)`` writes the locals back into the objects (``IndicatorSet.to_state`` does this
  first), and so does the generator's end, whatever ends it.

Kinds without a template here (``stoch``, ``obv``, ``vwap``) are called through their own
``update`` inside the loop. Only parameters (numbers) and generated local names reach the
source text; column names and objects are passed in as arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from wagehood.indicators.atr import ATR
from wagehood.indicators.bollinger import ZERO, BollingerBands
from wagehood.indicators.ema import EMA
from wagehood.indicators.macd import MACD
from wagehood.indicators.rsi import RSI
from wagehood.indicators.sma import SMA

Row = dict[str, float | None]
Kernel = Generator[Row | None, Any, None]


@dataclass
class _Part:
    """One indicator's share of the generated source; ``o`` is its object's argument name."""

    o: str
    load: list[str] = field(default_factory=list)
    step: list[str] = field(default_factory=list)
    store: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    inlined: bool = True


def _sma(o: str, sma: SMA) -> _Part:
    p = sma.period
    return _Part(
        o,
        load=[f"{o}w = {o}._window", f"{o}t = {o}._total", f"{o}v = {o}._value"],
        step=[
            f"{o}w.append(close)",
            f"{o}s = {o}t + close",
            f"{o}v = {o}s / {p}",
            f"{o}t = {o}s - {o}w.popleft()",
        ],
        store=[f"{o}._total = {o}t", f"{o}._value = {o}v"],
        outputs=[f"{o}v"],
    )


def _ema(o: str, ema: EMA) -> _Part:
    return _Part(
        o,
        load=[f"{o}v = {o}._value", f"{o}k = {o}._k"],
        step=[f"{o}v = {o}v + (close - {o}v) * {o}k"],
        store=[f"{o}._value = {o}v"],
        outputs=[f"{o}v"],
    )


def _rsi(o: str, rsi: RSI) -> _Part:
    p = rsi.period
    return _Part(
        o,
        load=[
            f"{o}p = {o}._prev",
            f"{o}g = {o}._gain",
            f"{o}l = {o}._loss",
            f"{o}v = {o}._value",
        ],
        step=[
            f"{o}c = close - {o}p",
            f"{o}p = close",
            f"{o}l = {o}l * {p - 1}",
            f"{o}g = {o}g * {p - 1}",
            f"if {o}c < 0.0:",
            f"    {o}l -= {o}c",
            "else:",
            f"    {o}g += {o}c",
            f"{o}l /= {p}",
            f"{o}g /= {p}",
            f"{o}s = {o}g + {o}l",
            f"{o}v = 100.0 * ({o}g / {o}s) if {o}s else {o}v or 0.0",
        ],
        store=[
            f"{o}._prev = {o}p",
            f"{o}._gain = {o}g",
            f"{o}._loss = {o}l",
            f"{o}._value = {o}v",
        ],
        outputs=[f"{o}v"],
    )


def _macd(o: str, macd: MACD) -> _Part:
    return _Part(
        o,
        load=[
            f"{o}f, {o}s, {o}g = {o}._fast, {o}._slow, {o}._signal",
            f"{o}fv, {o}sv, {o}gv = {o}f._value, {o}s._value, {o}g._value",
            f"{o}fk, {o}sk, {o}gk = {o}f._k, {o}s._k, {o}g._k",
            f"{o}m, {o}gv, {o}h = {o}._values",
        ],
        step=[
            f"{o}sv = {o}sv + (close - {o}sv) * {o}sk",
            f"{o}fv = {o}fv + (close - {o}fv) * {o}fk",
            f"{o}m = {o}fv - {o}sv",
            f"{o}gv = {o}gv + ({o}m - {o}gv) * {o}gk",
            f"{o}h = {o}m - {o}gv",
        ],
        store=[
            f"{o}f._value, {o}s._value, {o}g._value = {o}fv, {o}sv, {o}gv",
            f"{o}._values = ({o}m, {o}gv, {o}h)",
        ],
        outputs=[f"{o}m", f"{o}gv", f"{o}h"],
    )


def _bbands(o: str, bands: BollingerBands) -> _Part:
    p = bands.period
    return _Part(
        o,
        load=[
            f"{o}w = {o}._window",
            f"{o}t = {o}._total",
            f"{o}a = {o}._anchor",
            f"{o}s1 = {o}._sum",
            f"{o}s2 = {o}._sum2",
            f"{o}n = {o}._since",
            f"{o}d = {o}.nbdev",
            f"{o}up, {o}mid, {o}lo = {o}._values",
        ],
        step=[
            f"{o}w.append(close)",
            f"if 0 < {o}n < {p}:",
            f"    {o}x = close - {o}a",
            f"    {o}s1 = {o}s1 + {o}x",
            f"    {o}s2 = {o}s2 + {o}x * {o}x",
            f"    {o}n += 1",
            "else:",
            f"    {o}a = close",
            f"    {o}s1 = {o}s2 = 0.0",
            f"    for {o}y in {o}w:",
            f"        {o}x = {o}y - close",
            f"        {o}s1 += {o}x",
            f"        {o}s2 += {o}x * {o}x",
            f"    {o}n = 1",
            f"{o}s = {o}t + close",
            f"{o}old = {o}w.popleft()",
            f"{o}t = {o}s - {o}old",
            f"{o}mid = {o}s / {p}",
            f"{o}mean = {o}s1 / {p}",
            f"{o}var = {o}s2 / {p} - {o}mean * {o}mean",
            f"{o}x = {o}old - {o}a",
            f"{o}s1 = {o}s1 - {o}x",
            f"{o}s2 = {o}s2 - {o}x * {o}x",
            f"{o}wd = sqrt({o}var) * {o}d if {o}var >= {ZERO!r} else 0.0",
            f"{o}up = {o}mid + {o}wd",
            f"{o}lo = {o}mid - {o}wd",
        ],
        store=[
            f"{o}._total, {o}._anchor, {o}._since = {o}t, {o}a, {o}n",
            f"{o}._sum, {o}._sum2 = {o}s1, {o}s2",
            f"{o}._values = ({o}up, {o}mid, {o}lo)",
        ],
        outputs=[f"{o}up", f"{o}mid", f"{o}lo"],
    )


def _atr(o: str, atr: ATR) -> _Part:
    p = atr.period
    return _Part(
        o,
        load=[f"{o}pc = {o}._prev_close", f"{o}v = {o}._value"],
        step=[
            f"{o}tr = high - low",
            f"{o}gap = {o}pc - high",
            f"if -{o}gap > {o}tr or {o}gap > {o}tr:",
            f"    {o}tr = {o}gap if {o}gap > 0.0 else -{o}gap",
            f"{o}gap = {o}pc - low",
            f"if -{o}gap > {o}tr or {o}gap > {o}tr:",
            f"    {o}tr = {o}gap if {o}gap > 0.0 else -{o}gap",
            f"{o}pc = close",
            f"{o}v = ({o}v * {p - 1} + {o}tr) / {p}",
        ],
        store=[f"{o}._prev_close = {o}pc", f"{o}._value = {o}v"],
        outputs=[f"{o}v"],
    )


def _called(o: str, indicator: Any) -> _Part:
    # Any other kind: its own update, inside the loop. Composites give a tuple or None.
    source = "bar" if indicator.source == "bar" else "close"
    width = len(indicator.outputs)
    if width == 1:
        return _Part(o, step=[f"{o}v = {o}u({source})"], outputs=[f"{o}v"], inlined=False)
    names = [f"{o}v{i}" for i in range(width)]
    unpack = ", ".join(names)
    return _Part(
        o,
        step=[
            f"{o}r = {o}u({source})",
            f"{unpack} = ({'None, ' * width}) if {o}r is None else {o}r",
        ],
        outputs=names,
        inlined=False,
    )


_TEMPLATES: dict[type[Any], Callable[[str, Any], _Part]] = {
    SMA: _sma,
    EMA: _ema,
    RSI: _rsi,
    MACD: _macd,
    BollingerBands: _bbands,
    ATR: _atr,
}


def _parts(indicators: Sequence[Any]) -> list[_Part]:
    return [
        _TEMPLATES.get(type(indicator), _called)(f"i{n}_", indicator)
        for n, indicator in enumerate(indicators)
    ]


def _source(parts: Sequence[_Part], uses_bar: bool, width: int) -> str:
    objects = [part.o for part in parts]
    updaters = [f"{part.o}u" for part in parts if not part.inlined]
    columns = [f"c{n}" for n in range(width)]
    arguments = ", ".join(["slow", "warm", *objects, *updaters, *columns])
    load = [line for part in parts for line in part.load]
    step = [line for part in parts for line in part.step]
    store = [line for part in parts for line in part.store] or ["pass"]
    outputs = [name for part in parts for name in part.outputs]
    row = ", ".join(f"{c}: {v}" for c, v in zip(columns, outputs, strict=True))
    reads = ["close = bar.close", *(["high = bar.high", "low = bar.low"] if uses_bar else [])]
    lines = [
        f"def kernel({arguments}):",
        "    bar = yield None",
        "    while not warm():",
        "        bar = yield (None if bar is None else slow(bar))",
        *(f"    {line}" for line in load),
        "    try:",
        "        while True:",
        "            if bar is None:",
        *(f"                {line}" for line in store),
        "                bar = yield None",
        "                continue",
        *(f"            {line}" for line in reads),
        *(f"            {line}" for line in step),
        f"            bar = yield {{{row}}}",
        "    finally:",
        *(f"        {line}" for line in store),
    ]
    return "\n".join(lines) + "\n"


def compile_kernel(indicators: Sequence[Any]) -> tuple[Callable[..., Kernel], tuple[bool, ...]]:
    """Return the generated kernel for indicators of these kinds and parameters.

    Also returns, per indicator, whether it is inlined (else it is called through its
    ``update``, or ``update_values`` for a composite). The kernel depends only on kinds and
    parameters, so callers cache it per set of specs.
    """
    parts = _parts(indicators)
    inlined = tuple(part.inlined for part in parts)
    uses_bar = any(
        indicator.source == "bar"
        for indicator, part in zip(indicators, parts, strict=True)
        if part.inlined
    )
    width = sum(len(indicator.outputs) for indicator in indicators)
    namespace: dict[str, Any] = {"sqrt": math.sqrt}
    source = _source(parts, uses_bar, width)
    exec(compile(source, "<wagehood fused indicators>", "exec"), namespace)  # noqa: S102
    kernel: Callable[..., Kernel] = namespace["kernel"]
    return kernel, inlined


def start(
    compiled: tuple[Callable[..., Kernel], tuple[bool, ...]],
    indicators: Sequence[Any],
    columns: Sequence[str],
    slow: Callable[[Any], Row],
) -> Kernel:
    """Return a primed kernel: ``send(bar)`` gives the row, ``send(None)`` syncs the objects.

    Args:
        compiled: ``compile_kernel`` of indicators of the same kinds and parameters.
        indicators: The set's indicator objects, in column order (updated in place).
        columns: The set's flattened column names, in order.
        slow: The object-by-object update, used until every inlined indicator is warm.
    """
    kernel, inlined = compiled
    warm_ones = [obj for obj, fused in zip(indicators, inlined, strict=True) if fused]
    updaters = [updater(obj) for obj, fused in zip(indicators, inlined, strict=True) if not fused]

    def warm() -> bool:
        return all(obj.ready for obj in warm_ones)

    generator = kernel(slow, warm, *indicators, *updaters, *columns)
    next(generator)
    return generator


def updater(indicator: Any) -> Callable[[Any], Any]:
    """Return the step to call: ``update``, or a composite's ``update_values`` (a tuple)."""
    if len(indicator.outputs) == 1:
        update: Callable[[Any], Any] = indicator.update
        return update
    update_values: Callable[[Any], Any] = indicator.update_values
    return update_values
