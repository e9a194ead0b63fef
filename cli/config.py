"""``wagehood config``: the running system's watchlist, indicators, strategies and settings.

Every change goes through the API and takes effect in the running workers without a restart.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click
import yaml

from cli.client import ApiClient, pass_client, segment
from cli.errors import EXIT_BAD_DATA, CliError
from cli.output import emit, emit_object, format_option
from cli.params import SYMBOL

BASE = "/realtime/config"


def assignments(pairs: tuple[str, ...]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` pairs; values are YAML scalars or lists (``timeframes=[1m,5m]``)."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE")
        try:
            parsed[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            raise click.BadParameter(f"{pair!r}: {str(error).splitlines()[0]}") from error
    return parsed


def section(body: Any, name: str) -> Any:
    """Return ``body[name]`` when the API wraps a section in its name, else ``body``."""
    return body[name] if isinstance(body, dict) and name in body else body


@click.group()
def config() -> None:
    """Show and change the running system's configuration (through the API)."""


@config.group()
def watchlist() -> None:
    """The watched symbols and their data providers."""


def _print_watchlist(body: Any, fmt: str | None) -> None:
    entries = section(body, "watchlist")
    entries = section(entries, "symbols") if isinstance(entries, dict) else entries
    rows = [e if isinstance(e, dict) else {"symbol": e} for e in entries]
    emit(body, [r | {"sync": _sync_text(r["sync"])} if "sync" in r else r for r in rows], fmt)


def _sync_text(status: dict[str, Any]) -> str:
    # One cell for tables and CSV: "live", "warming 42%", "failed: NVDA: unknown symbol".
    state = str(status.get("state"))
    if state in {"warming", "queued"}:
        return f"{state} {round(100 * float(status.get('progress') or 0))}%"
    return f"{state}: {status['error']}" if status.get("error") else state


@watchlist.command("list")
@format_option
@pass_client
def watchlist_list(client: ApiClient, output_format: str | None) -> None:
    """List the watched symbols."""
    _print_watchlist(client.get(f"{BASE}/watchlist"), output_format)


@watchlist.command("add")
@click.argument("symbols", nargs=-1, required=True, type=SYMBOL)
@click.option("--provider", help="Data provider for these symbols [default: the system's].")
@click.option("--wait", is_flag=True, help="Show the warm-up's progress; return when warm.")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds to wait.")
@format_option
@pass_client
def watchlist_add(
    client: ApiClient,
    symbols: tuple[str, ...],
    provider: str | None,
    wait: bool,
    timeout: float,
    output_format: str | None,
) -> None:
    """Start watching SYMBOLS (their history is loaded first: see --wait)."""
    items = [{"symbol": s, "data_provider": provider} if provider else s for s in symbols]
    body = client.post(f"{BASE}/watchlist/add", {"symbols": items})
    if wait:
        body = _wait_warm(client, set(symbols), timeout)
    _print_watchlist(body, output_format)
    _print_warnings(body)


def _print_warnings(body: Any) -> None:
    warnings = body.get("warnings") if isinstance(body, dict) else None
    for warning in warnings or ():
        click.echo(f"warning: {warning}", err=True)


def _warm_states(body: Any, symbols: set[str]) -> dict[str, dict[str, Any]]:
    entries = section(body, "symbols")
    return {e["symbol"]: e.get("sync") or {} for e in entries if e["symbol"] in symbols}


def _wait_warm(client: ApiClient, symbols: set[str], timeout: float) -> Any:
    # Poll the watchlist until every symbol's warm-up is live or failed; progress on stderr.
    deadline = time.monotonic() + timeout
    done = 0
    with click.progressbar(length=1000, label="warming up", file=sys.stderr) as bar:
        while True:
            body = client.get(f"{BASE}/watchlist")
            states = _warm_states(body, symbols)
            progress = sum(s.get("progress", 0.0) for s in states.values()) / max(len(symbols), 1)
            bar.update(int(progress * 1000) - done)
            done = int(progress * 1000)
            failed = {k: v for k, v in states.items() if v.get("state") == "failed"}
            if failed:
                reasons = "; ".join(f"{k}: {v.get('error')}" for k, v in sorted(failed.items()))
                raise CliError(f"warm-up failed: {reasons}", EXIT_BAD_DATA)
            if states and all(s.get("state") == "live" for s in states.values()):
                return body
            if time.monotonic() > deadline:
                raise CliError(f"not warm after {timeout:.0f}s (is a worker running?)")
            time.sleep(0.25)


@watchlist.command("remove")
@click.argument("symbols", nargs=-1, required=True, type=SYMBOL)
@format_option
@pass_client
def watchlist_remove(
    client: ApiClient, symbols: tuple[str, ...], output_format: str | None
) -> None:
    """Stop watching SYMBOLS (their stored history stays)."""
    body = None
    for symbol in symbols:
        body = client.delete(f"{BASE}/watchlist/{segment(symbol)}")
    _print_watchlist(body, output_format)


@watchlist.command("set")
@click.argument("symbols", nargs=-1, required=True, type=SYMBOL)
@format_option
@pass_client
def watchlist_set(client: ApiClient, symbols: tuple[str, ...], output_format: str | None) -> None:
    """Replace the whole watchlist with SYMBOLS."""
    _print_watchlist(client.put(f"{BASE}/watchlist", {"symbols": list(symbols)}), output_format)


@config.group()
def indicators() -> None:
    """The indicator columns computed for every symbol (name -> spec such as ``ema(12)``)."""


def _print_mapping(body: Any, name: str, fmt: str | None) -> None:
    values = section(body, name)
    rows = [{"name": k, "value": v} for k, v in values.items()] if isinstance(values, dict) else []
    emit(body, rows, fmt)


@indicators.command("show")
@format_option
@pass_client
def indicators_show(client: ApiClient, output_format: str | None) -> None:
    """Show the indicator columns."""
    _print_mapping(client.get(f"{BASE}/indicators"), "indicators", output_format)


@indicators.command("set")
@click.argument("pairs", nargs=-1, required=True, metavar="NAME=SPEC...")
@format_option
@pass_client
def indicators_set(client: ApiClient, pairs: tuple[str, ...], output_format: str | None) -> None:
    """Replace the indicator columns, e.g. ``sma_20='sma(20)' rsi_14='rsi(14)'``."""
    specs = {name: str(spec) for name, spec in assignments(pairs).items()}
    body = client.put(f"{BASE}/indicators", {"indicators": specs})
    _print_mapping(body, "indicators", output_format)


@config.group()
def strategies() -> None:
    """The trading strategies: enabled or not, and their parameters."""


def _print_strategies(body: Any, fmt: str | None) -> None:
    values = section(body, "strategies")
    rows = [{"name": name, **spec} for name, spec in values.items()]
    emit(body, rows, fmt)


def _put_strategies(client: ApiClient, values: dict[str, Any], fmt: str | None) -> None:
    _print_strategies(client.put(f"{BASE}/strategies", {"strategies": values}), fmt)


def _toggle(client: ApiClient, name: str, enabled: bool, fmt: str | None) -> None:
    values = dict(section(client.get(f"{BASE}/strategies"), "strategies"))
    if name not in values:
        raise CliError(f"unknown strategy {name!r} (known: {', '.join(sorted(values))})", 5)
    values[name] = {**values[name], "enabled": enabled}
    _put_strategies(client, values, fmt)


@strategies.command("show")
@format_option
@pass_client
def strategies_show(client: ApiClient, output_format: str | None) -> None:
    """Show every strategy, whether it is enabled and its parameters."""
    _print_strategies(client.get(f"{BASE}/strategies"), output_format)


@strategies.command("enable")
@click.argument("name")
@format_option
@pass_client
def strategies_enable(client: ApiClient, name: str, output_format: str | None) -> None:
    """Enable strategy NAME."""
    _toggle(client, name, True, output_format)


@strategies.command("disable")
@click.argument("name")
@format_option
@pass_client
def strategies_disable(client: ApiClient, name: str, output_format: str | None) -> None:
    """Disable strategy NAME."""
    _toggle(client, name, False, output_format)


@strategies.command("set")
@click.argument("name")
@click.argument("params", nargs=-1, metavar="PARAM=VALUE...")
@click.option("--enable/--disable", "enabled", default=None, help="Also switch it on or off.")
@format_option
@pass_client
def strategies_set(
    client: ApiClient,
    name: str,
    params: tuple[str, ...],
    enabled: bool | None,
    output_format: str | None,
) -> None:
    """Set strategy NAME's parameters, e.g. ``rsi_trend oversold=25 overbought=75``."""
    values = dict(section(client.get(f"{BASE}/strategies"), "strategies"))
    current = dict(values.get(name, {"enabled": True, "params": {}}))
    current["params"] = {**current.get("params", {}), **assignments(params)}
    if enabled is not None:
        current["enabled"] = enabled
    _put_strategies(client, {**values, name: current}, output_format)


@config.group()
def system() -> None:
    """System settings: min_confidence, timeframes, default_provider."""


@system.command("show")
@format_option
@pass_client
def system_show(client: ApiClient, output_format: str | None) -> None:
    """Show the system settings."""
    emit_object(section(client.get(f"{BASE}/system"), "system"), output_format)


@system.command("set")
@click.argument("pairs", nargs=-1, required=True, metavar="KEY=VALUE...")
@format_option
@pass_client
def system_set(client: ApiClient, pairs: tuple[str, ...], output_format: str | None) -> None:
    """Change system settings, e.g. ``min_confidence=0.5 timeframes=[1m,5m]``."""
    body = client.put(f"{BASE}/system", {"system": assignments(pairs)})
    emit_object(section(body, "system"), output_format)


@config.command()
@format_option
@pass_client
def summary(client: ApiClient, output_format: str | None) -> None:
    """Show an overview: version, watchlist, indicators, strategies, system."""
    emit_object(client.get(f"{BASE}/summary"), output_format)


@config.command()
@format_option
@pass_client
def validate(client: ApiClient, output_format: str | None) -> None:
    """Re-validate the stored configuration; exit 6 when it is invalid."""
    body = client.get(f"{BASE}/validate")
    notes = [{"note": note} for note in body.get("notes", [])]
    emit(body, (body.get("errors") or [{"valid": body.get("valid")}]) + notes, output_format)
    _print_warnings(body)
    if not body.get("valid", False):
        raise CliError("the stored configuration is invalid", EXIT_BAD_DATA)
