"""``wagehood completion``: print the shell completion script."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print SHELL's completion script for wagehood.

    Enable it with, e.g., ``eval "$(wagehood completion bash)"`` in ~/.bashrc, or
    ``wagehood completion fish > ~/.config/fish/completions/wagehood.fish``.
    """
    root = ctx.find_root().command
    completer = get_completion_class(shell)
    if completer is None:  # pragma: no cover - click ships all three
        raise click.BadParameter(f"no completion for {shell}")
    click.echo(completer(root, {}, "wagehood", "_WAGEHOOD_COMPLETE").source())
