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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

import click

from cli import clicfg

FORMATS = ("json", "table", "csv")


def default_format() -> str:
    """Return the configured ``output_format``, else ``table`` on a terminal and ``json`` piped."""
    configured = clicfg.current().output_format
    return configured or ("table" if sys.stdout.isatty() else "json")


def format_option(func: Any) -> Any:
    """Add ``--format json|table|csv`` to a command."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default=None,
        help="Output format (default: config file, else table on a terminal, json when piped).",
    )(func)


def cell(value: Any) -> str:
    """Render one value for csv and table output (empty for missing values)."""
    if type(value) is float:  # the hot case (replay prints ~20 floats a row): test it first
        return "" if math.isnan(value) else repr(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
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
    *,
    plain: bool = False,
) -> None:
    """Write ``rows`` under ``columns`` in format ``fmt`` to ``out`` (stdout).

    ``plain`` promises that every value is a str, int, finite float or None: csv then hands
    rows straight to the C writer (None becomes an empty field, floats their ``repr``).
    """
    stream = out or sys.stdout
    fmt = fmt or default_format()
    if fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows if plain else ([cell(v) for v in row] for row in rows))
    elif fmt == "json":
        _write_json_array(stream, columns, rows)
    else:
        _write_table(stream, columns, [[cell(v) for v in row] for row in rows])


def write_json(data: Any, out: TextIO | None = None) -> None:
    """Write ``data`` as indented JSON."""
    stream = out or sys.stdout
    stream.write(json.dumps(data, indent=2, default=str) + "\n")


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Return ``data`` with nested mappings flattened to dotted keys (``bar.close``)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def emit(
    body: Any,
    records: Sequence[Mapping[str, Any]],
    fmt: str | None,
    first: Sequence[str] = ("symbol", "name", "id"),
) -> None:
    """Print ``body`` verbatim as JSON, or ``records`` flattened as a table or CSV.

    Columns named in ``first`` lead, the others follow in the order they appear; with no
    records, ``first`` is the header.
    """
    fmt = fmt or default_format()
    if fmt == "json":
        write_json(body)
        return
    flat = [flatten(record) for record in records]
    seen = list(dict.fromkeys(key for row in flat for key in row))
    columns = [c for c in first if c in seen or not seen] + [c for c in seen if c not in first]
    write_rows(columns, [[row.get(c) for c in columns] for row in flat], fmt)


def emit_object(body: Mapping[str, Any], fmt: str | None) -> None:
    """Print one object: JSON verbatim, CSV as one row, a table as FIELD/VALUE lines."""
    fmt = fmt or default_format()
    if fmt != "table":
        emit(body, [body], fmt)
        return
    write_rows(["field", "value"], list(flatten(body).items()), fmt)


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


def colour() -> bool:
    """Return whether to colour stdout: ``color`` always/never, else a TTY without NO_COLOR."""
    choice = clicfg.current().color
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _write_table(stream: TextIO, columns: Sequence[str], rows: list[list[str]]) -> None:
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    stream.write((click.style(header, bold=True) if colour() else header).rstrip() + "\n")
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
