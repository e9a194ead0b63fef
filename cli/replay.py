"""``wagehood replay``: run the domain core over an OHLCV CSV file, offline."""

from __future__ import annotations

import click


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
def replay(path: str) -> None:
    """Replay PATH (an OHLCV CSV) through the indicators and strategies."""
    raise click.ClickException("not implemented yet")
