"""Output formats shared by every command that prints data: json, table and csv.

JSON is valid JSON and nothing else on stdout; CSV has a header row; tables are aligned and
coloured only on a terminal (``NO_COLOR`` turns colour off).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

import click

FORMATS = ("json", "table", "csv")


def default_format() -> str:
    """Return ``table`` on a terminal and ``json`` when piped."""
    return "table" if sys.stdout.isatty() else "json"


def format_option(func: Any) -> Any:
    """Add ``--format json|table|csv`` to a command."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default=None,
        help="Output format (default: table on a terminal, json when piped).",
    )(func)


def cell(value: Any) -> str:
    """Render one value for csv and table output (empty for missing values)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return ",".join(cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def write_rows(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    fmt: str | None,
    out: TextIO | None = None,
) -> None:
    """Write ``rows`` under ``columns`` in format ``fmt`` to ``out`` (stdout)."""
    stream = out or sys.stdout
    fmt = fmt or default_format()
    if fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([cell(v) for v in row] for row in rows)
    elif fmt == "json":
        _write_json_array(stream, columns, rows)
    else:
        _write_table(stream, columns, [[cell(v) for v in row] for row in rows])


def write_json(data: Any, out: TextIO | None = None) -> None:
    """Write ``data`` as indented JSON."""
    stream = out or sys.stdout
    stream.write(json.dumps(data, indent=2, default=str) + "\n")


def _write_json_array(
    stream: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    stream.write("[")
    first = True
    for row in rows:
        stream.write("\n  " if first else ",\n  ")
        stream.write(json.dumps(dict(zip(columns, row, strict=True)), allow_nan=False, default=str))
        first = False
    stream.write("\n]\n" if not first else "]\n")


def _colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _write_table(stream: TextIO, columns: Sequence[str], rows: list[list[str]]) -> None:
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    stream.write((click.style(header, bold=True) if _colour() else header).rstrip() + "\n")
    for row in rows:
        stream.write(
            "  ".join(
                v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(row, widths, strict=True)
            ).rstrip()
            + "\n"
        )


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
