"""Replay a directory of ``SYMBOL.csv`` OHLCV files (see ``wagehood.csvio``) as a live feed.

Each file replays from its own first bar: at wall time ``now`` the data time of a symbol is
``first_bar_time + (now - origin_wall_time) * speed``, and its quote is the latest bar
starting at or before that data time, with price = the bar's close and time = the bar's
time. (The close is shown from the bar's start: a replay, not a point-in-time simulation.)
Volume is each bar's volume reported once: the first quote that reaches a bar carries the
volumes of every bar passed since the previous quote, later quotes on the same bar carry 0.
That bookkeeping lives in this object, so each process counts on its own. After the last
bar the feed stays on it.

``origin_wall_time`` defaults to the start of the current UTC day, so every process started
on the same day replays in step. Files are found case-insensitively (``goog.csv`` serves
``GOOG``) and read once, on first request; a symbol without a file, or whose file is
malformed, is reported in ``failed`` with the reason (a missing file is looked for again
on later calls, a malformed one is not re-read until restart).
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from wagehood.bars import resample
from wagehood.csvio import Row, read_rows, symbol_from_path
from wagehood.errors import ConfigError, DataError, ValidationError
from wagehood.providers.base import HistoryResult, ProviderResult
from wagehood.types import Bar, Quote, Timeframe, validate_symbol

logger = logging.getLogger(__name__)

DAY = 86400


@dataclass(frozen=True)
class Series:
    """One file's bars: start times, closes and volumes as columns, and the rows."""

    times: list[int]
    closes: list[float]
    volumes: list[float]
    rows: list[Row]


class CsvProvider:
    """Quotes replayed from ``SYMBOL.csv`` files (see the module docstring)."""

    name: ClassVar[str] = "csv"
    max_batch: ClassVar[int] = 1000

    def __init__(
        self,
        directory: str | Path,
        speed: float = 60.0,
        origin_wall_time: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not speed > 0 or not math.isfinite(speed):
            raise ConfigError(f"CSV_PROVIDER_SPEED: must be > 0, was {speed}")
        self.directory = Path(directory)
        self.speed = speed
        now = time.time()
        self.origin = origin_wall_time if origin_wall_time is not None else now - now % DAY
        self._clock = clock  # wall time, for the replay clock of get_bars
        self._files: dict[str, Path] = {}
        self._series: dict[str, Series | str] = {}  # loaded series or the reason it failed
        self._reported: dict[str, int] = {}  # index of the last bar whose volume was reported

    def get_quotes(self, symbols: Sequence[str], now: float) -> ProviderResult:
        """Return each symbol's replayed quote at wall time ``now``."""
        quotes: list[Quote] = []
        failed: dict[str, str] = {}
        for symbol in dict.fromkeys(symbols):
            try:
                quotes.append(self._quote(validate_symbol(symbol), now))
            except DataError as error:
                failed[symbol] = f"csv: {error}"
        return ProviderResult(quotes=quotes, failed=failed)

    def data_time(self, first_bar_time: int, now: float) -> float:
        """Return the replayed data time at wall time ``now`` for a file starting then."""
        return first_bar_time + (now - self.origin) * self.speed

    def get_bars(
        self, symbols: Sequence[str], timeframe: Timeframe, start: int, end: int
    ) -> HistoryResult:
        """Return each file's complete bars with ``start <= time < end`` replayed so far."""
        now = self._clock()
        bars: dict[str, list[Bar]] = {}
        failed: dict[str, str] = {}
        for symbol in dict.fromkeys(symbols):
            try:
                canonical = validate_symbol(symbol)
                series = self._load(canonical)
            except DataError as error:
                failed[symbol] = f"csv: {error}"
                continue
            replayed = self.data_time(series.times[0], now)
            bars[canonical] = _history(series, canonical, timeframe, (start, end), replayed)
        return HistoryResult(bars=bars, failed=failed)

    def close(self) -> None:
        """Forget the loaded files."""
        self._series.clear()
        self._reported.clear()

    def _quote(self, symbol: str, now: float) -> Quote:
        series = self._load(symbol)
        data_time = self.data_time(series.times[0], now)
        index = bisect.bisect_right(series.times, data_time) - 1
        if index < 0:
            raise ValidationError(f"{symbol}: replay has not started (now is before the origin)")
        return Quote(
            symbol=symbol,
            time=float(series.times[index]),
            price=series.closes[index],
            volume=self._volume_once(symbol, series, index),
        )

    # Volumes of the bars reached since the previous quote of this symbol (0 if none new).
    def _volume_once(self, symbol: str, series: Series, index: int) -> float:
        last = self._reported.get(symbol)
        self._reported[symbol] = index
        if last is None or index < last:
            return series.volumes[index]
        return math.fsum(series.volumes[last + 1 : index + 1])

    def _load(self, symbol: str) -> Series:
        cached = self._series.get(symbol)
        if isinstance(cached, Series):
            return cached
        if cached is not None:
            raise DataError(cached)
        path = self._find(symbol)
        try:
            series = _read_series(path)
        except DataError as error:
            self._series[symbol] = str(error)
            raise
        logger.info("csv: loaded %d bars of %s from %s", len(series.times), symbol, path)
        self._series[symbol] = series
        return series

    def _find(self, symbol: str) -> Path:
        if symbol not in self._files:
            self._files = _scan(self.directory)
        path = self._files.get(symbol)
        if path is None:
            raise ValidationError(f"{symbol}: no file {symbol}.csv in {self.directory}")
        return path


def _scan(directory: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    try:
        candidates = sorted(directory.iterdir())
    except OSError as error:
        logger.warning("csv: cannot list %s: %s", directory, error)
        return files
    for path in candidates:
        if path.suffix.lower() != ".csv" or not path.is_file():
            continue
        try:
            files.setdefault(symbol_from_path(path), path)
        except ValidationError:
            logger.debug("csv: ignoring %s, its name is not a symbol", path)
    return files


# The complete bars of ``timeframe`` in [start, end) among the file bars replayed by data
# time ``replayed``: those before the bar of the latest replayed file bar.
def _history(
    series: Series, symbol: str, timeframe: Timeframe, span: tuple[int, int], replayed: float
) -> list[Bar]:
    reached = bisect.bisect_right(series.times, replayed)
    if not reached:
        return []
    start, end = span
    limit = min(end, timeframe.floor(series.times[reached - 1]))
    first = bisect.bisect_left(series.times, -(-start // timeframe.seconds) * timeframe.seconds)
    last = bisect.bisect_left(series.times, limit)
    return resample(symbol, timeframe, series.rows[first:last])


def _read_series(path: Path) -> Series:
    series = Series(times=[], closes=[], volumes=[], rows=[])
    for row in read_rows(path):
        series.times.append(row.time)
        series.closes.append(row.close)
        series.volumes.append(row.volume)
        series.rows.append(row)
    if not series.times:
        raise DataError(f"{path}: no bars")
    return series
