"""``wagehood replay``: run the domain core over an OHLCV CSV file, offline."""

from __future__ import annotations

import click

from cli.output import format_option, write_rows
from cli.params import SYMBOL, TIMEFRAME
from wagehood.service.replay import replay_file
from wagehood.types import Timeframe


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--symbol", type=SYMBOL, help="Symbol of the bars (default: the file name).")
@click.option("--timeframe", type=TIMEFRAME, help="Bar timeframe (default: inferred from spacing).")
@click.option("--signals", is_flag=True, help="Print the strategies' signals instead of bars.")
@format_option
def replay(
    path: str,
    symbol: str | None,
    timeframe: Timeframe | None,
    signals: bool,
    output_format: str | None,
) -> None:
    """Replay PATH (an OHLCV CSV) through the indicators and strategies the workers use.

    Prints one row per input bar (time, OHLCV and the default indicators, empty while they warm
    up), or with --signals one row per signal. Default format: csv.
    """
    table = replay_file(path, symbol, timeframe, signals=signals)
    write_rows(table.columns, table.rows, output_format or "csv", plain=True)
