"""``wagehood replay``: run the domain core over an OHLCV CSV file, offline."""

from __future__ import annotations

import click

from cli.output import format_option, write_rows
from cli.params import SYMBOL, TIMEFRAME
from wagehood.plugins.loader import configure
from wagehood.service.replay import replay_file, strategy_choices
from wagehood.settings import Settings
from wagehood.types import Timeframe


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--symbol", type=SYMBOL, help="Symbol of the bars (default: the file name).")
@click.option("--timeframe", type=TIMEFRAME, help="Bar timeframe (default: inferred from spacing).")
@click.option("--signals", is_flag=True, help="Print the strategies' signals instead of bars.")
@click.option(
    "--strategy",
    "strategies",
    multiple=True,
    metavar="NAME[:KEY=VALUE,...]",
    help="Run only this strategy (built-in or plugin), with these params; implies --signals. "
    "Repeatable.",
)
@click.option(
    "--indicator",
    "indicators",
    multiple=True,
    metavar="COLUMN=SPEC",
    help="Print this indicator column (e.g. rsi_7=rsi(7)) instead of the defaults. Repeatable.",
)
@format_option
@click.pass_obj
def replay(
    settings: Settings,
    path: str,
    symbol: str | None,
    timeframe: Timeframe | None,
    signals: bool,
    strategies: tuple[str, ...],
    indicators: tuple[str, ...],
    output_format: str | None,
) -> None:
    """Replay PATH (an OHLCV CSV) through the indicators and strategies the workers use.

    Prints one row per input bar (time, OHLCV and the default indicators, empty while they warm
    up), or with --signals one row per signal. Default format: csv.
    """
    configure(settings)
    table = replay_file(
        path,
        symbol,
        timeframe,
        signals=signals or bool(strategies),
        indicators={c: spec for c, _, spec in (i.partition("=") for i in indicators)} or None,
        strategies=strategy_choices(strategies) or None,
        min_confidence=settings.signal_min_confidence,
    )
    write_rows(table.columns, table.rows, output_format or "csv", plain=True)
