"""Read OHLCV bars from CSV files such as Yahoo Finance exports or pandas ``to_csv`` output.

Format:
- a header row, matched case-insensitively: a time column (unnamed, or named ``Date``,
  ``Datetime``, ``Time`` or ``Timestamp``) and ``Open``, ``High``, ``Low``, ``Close``,
  ``Volume`` in any order; other columns (Yahoo's ``Adj Close``) are ignored;
- times as dates (``2024-01-02``), date-times (naive ones are UTC), ISO 8601 with an
  offset (converted to UTC) or bare integers (epoch seconds); a bar's time is its row's
  timestamp, rows may be irregularly spaced (weekends, holidays, monthly) and none is dropped;
- prices positive, volume non-negative (fractional allowed, empty means 0), ``high >= low``,
  times strictly increasing. Open or close outside ``[low, high]`` is kept as the vendor sent it.

Anything else raises ``DataError`` naming the file and line: ``prices.csv:17: close 'abc' is
not a number``. Blank lines are skipped.
"""

from __future__ import annotations

import csv
import logging
import math
import statistics
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

from wagehood.errors import DataError
from wagehood.timeparse import parse_time
from wagehood.types import Bar, Timeframe, validate_symbol

logger = logging.getLogger(__name__)

TIME_COLUMNS = ("", "date", "datetime", "time", "timestamp")
PRICE_COLUMNS = ("open", "high", "low", "close")
VALUE_COLUMNS = (*PRICE_COLUMNS, "volume")
INFER_ROWS = 50  # rows whose spacing infer_timeframe looks at


class Row(NamedTuple):
    """One parsed CSV row: epoch seconds (UTC) and OHLCV values."""

    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def read_bars(path: str | Path, symbol: str | None, timeframe: Timeframe) -> Iterator[Bar]:
    """Yield the closed bars of the CSV file at ``path`` in file order.

    ``symbol`` ``None`` means the file's name (``symbol_from_path``).

    Raises:
        DataError: the file cannot be read or a row is malformed; names file and line.
    """
    canonical = symbol_from_path(path) if symbol is None else validate_symbol(symbol)
    for row in read_rows(path):
        yield _bar(canonical, timeframe, row)


def read_bars_text(text: str, source_name: str, symbol: str, timeframe: Timeframe) -> Iterator[Bar]:
    """Yield the closed bars of CSV ``text``; errors name ``source_name`` as the file."""
    canonical = validate_symbol(symbol)
    for row in parse_rows(text.splitlines(keepends=True), source_name):
        yield _bar(canonical, timeframe, row)


def read_rows(path: str | Path) -> Iterator[Row]:
    """Yield the parsed rows of the CSV file at ``path`` in file order."""
    name = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            yield from parse_rows(handle, name)
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{name}: cannot read: {error}") from error


def parse_rows(lines: Iterable[str], source_name: str) -> Iterator[Row]:
    """Parse CSV ``lines`` (header first) into rows; errors name ``source_name``."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise DataError(f"{source_name}:1: empty file, expected a header row")
    time_index, value_indexes = _columns(header, source_name)
    width = len(header)
    previous: int | None = None
    for fields in reader:
        if not fields or all(not field.strip() for field in fields):
            continue
        if len(fields) != width:
            where = f"{source_name}:{reader.line_num}"
            raise DataError(f"{where}: expected {width} fields, found {len(fields)}")
        try:
            row = _row(fields, time_index, value_indexes)
        except _RowError as error:  # the location is formatted only for a bad row
            raise DataError(f"{source_name}:{reader.line_num}: {error}") from None
        if previous is not None and row.time <= previous:
            raise DataError(
                f"{source_name}:{reader.line_num}: time {fields[time_index].strip()!r} "
                "is not after the row before"
            )
        previous = row.time
        yield row


def infer_timeframe(times: Sequence[int]) -> Timeframe:
    """Return the timeframe closest to the median spacing of the first rows' ``times``.

    Closeness is measured on a log scale; spacings of a day or more (daily with gaps,
    weekly, monthly) are ``1d``.

    Raises:
        DataError: fewer than two times, or times not increasing.
    """
    head = list(times[: INFER_ROWS + 1])
    gaps = [later - earlier for earlier, later in pairwise(head)]
    if not gaps:
        raise DataError("need at least two bars to infer a timeframe")
    if min(gaps) <= 0:
        raise DataError("times must be strictly increasing to infer a timeframe")
    spacing = statistics.median(gaps)
    if spacing >= Timeframe.D1.seconds:
        return Timeframe.D1
    return min(Timeframe, key=lambda tf: abs(math.log(spacing / tf.seconds)))


def symbol_from_path(path: str | Path) -> str:
    """Return the symbol a file is named after (``data/goog.csv`` -> ``GOOG``).

    Raises:
        ValidationError: the file stem is not a valid symbol.
    """
    return validate_symbol(Path(path).stem)


# Map header names to column indexes: (time index, indexes of open/high/low/close/volume).
def _columns(header: Sequence[str], source_name: str) -> tuple[int, list[int]]:
    names = [name.strip().lower() for name in header]
    time_index = next((i for i, name in enumerate(names) if name in TIME_COLUMNS), None)
    if time_index is None:
        raise DataError(
            f"{source_name}:1: no time column; expected an unnamed first column or one of "
            "Date, Datetime, Time, Timestamp"
        )
    missing = [name.capitalize() for name in VALUE_COLUMNS if name not in names]
    if missing:
        raise DataError(f"{source_name}:1: missing column {', '.join(missing)}")
    return time_index, [names.index(name) for name in VALUE_COLUMNS]


class _RowError(ValueError):
    """What is wrong with one row; ``parse_rows`` adds the file and line."""


def _row(fields: Sequence[str], time_index: int, value_indexes: list[int]) -> Row:
    raw_time = fields[time_index].strip()
    try:
        time = parse_time(raw_time)
    except (ValueError, OverflowError):
        raise _RowError(f"time {raw_time!r} is not a date or epoch seconds") from None
    values = [
        _number(fields[index], name)
        for index, name in zip(value_indexes, VALUE_COLUMNS, strict=True)
    ]
    open_, high, low, close, volume = values
    if high < low:
        raise _RowError(f"high {high} is below low {low}")
    return Row(time, open_, high, low, close, volume)


def _number(text: str, name: str) -> float:
    raw = text.strip()
    if raw == "" and name == "volume":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise _RowError(f"{name} {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise _RowError(f"{name} {raw!r} is not a finite number")
    if name == "volume" and value < 0:
        raise _RowError(f"volume {raw!r} is negative")
    if name != "volume" and value <= 0:
        raise _RowError(f"{name} {raw!r} must be positive")
    return value


def _bar(symbol: str, timeframe: Timeframe, row: Row) -> Bar:
    return Bar(symbol, timeframe, row.time, row.open, row.high, row.low, row.close, row.volume)
