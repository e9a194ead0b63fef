"""``wagehood alerts``: alert rules, notification channels, delivery logs, dead letters, redelivery.

Everything goes through the API and takes effect in the running workers without a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from cli.client import ApiClient, pass_client, segment
from cli.output import emit, emit_object, format_option
from cli.params import SYMBOL, TIMEFRAME
from wagehood.types import Timeframe

BASE = "/realtime/alerts"
PAYLOADS = ("generic", "discord", "slack")
FILTERS = ("symbols", "strategies", "rules")


@click.group()
def alerts() -> None:
    """Alert rules and the notification channels signals and rule alerts go to (not health alerts)."""


@alerts.group()
def rules() -> None:
    """Conditions such as 'rsi_14 < 30' or 'ema_12 crosses_above ema_26', evaluated per bar."""


def _rule_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--timeframe", type=TIMEFRAME, help="Bars to evaluate [default: shortest]."
            ),
            click.option(
                "--symbol", type=SYMBOL, help="Only this symbol [default: every watched one]."
            ),
            click.option(
                "--cooldown", type=click.IntRange(0), help="Seconds (bar time) between firings."
            ),
            click.option(
                "--repeat/--edge",
                default=None,
                help="Fire on every bar the condition holds, or only when it starts to "
                "[default: --edge].",
            ),
            click.option(
                "--side", type=click.Choice(["buy", "sell"]), help="Side the alert reports."
            ),
        ]
    ):
        func = option(func)
    return func


def _rule_body(
    *,
    timeframe: Timeframe | None,
    symbol: str | None,
    cooldown: int | None,
    repeat: bool | None,
    side: str | None,
) -> dict[str, Any]:
    body = {"timeframe": timeframe.value if timeframe else None, "symbol": symbol,
            "cooldown": cooldown, "repeat": repeat, "side": side}  # fmt: skip
    return {k: v for k, v in body.items() if v is not None}


def _print_rules(body: Any, fmt: str | None) -> None:
    emit(body, body.get("rules", []), fmt, first=("name", "condition", "timeframe", "symbol"))


@rules.command("list")
@format_option
@pass_client
def rules_list(client: ApiClient, output_format: str | None) -> None:
    """List the alert rules."""
    _print_rules(client.get(f"{BASE}/rules"), output_format)


@rules.command("add")
@click.argument("name")
@click.argument("condition")
@_rule_options
@click.option("--paused", is_flag=True, help="Create it paused.")
@format_option
@pass_client
def rules_add(
    client: ApiClient,
    *,
    name: str,
    condition: str,
    timeframe: Timeframe | None,
    symbol: str | None,
    cooldown: int | None,
    repeat: bool | None,
    side: str | None,
    paused: bool,
    output_format: str | None,
) -> None:
    """Create rule NAME firing when CONDITION holds, e.g. ``oversold 'rsi_14 < 30'``."""
    body = {"name": name, "condition": condition, "enabled": not paused}
    body |= _rule_body(
        timeframe=timeframe, symbol=symbol, cooldown=cooldown, repeat=repeat, side=side
    )
    emit_object(client.post(f"{BASE}/rules", body), output_format)


@rules.command("update")
@click.argument("name")
@click.option("--condition", help="New condition.")
@_rule_options
@click.option("--all-symbols", is_flag=True, help="Watch every symbol again.")
@format_option
@pass_client
def rules_update(
    client: ApiClient,
    *,
    name: str,
    condition: str | None,
    timeframe: Timeframe | None,
    symbol: str | None,
    cooldown: int | None,
    repeat: bool | None,
    side: str | None,
    all_symbols: bool,
    output_format: str | None,
) -> None:
    """Change some fields of rule NAME."""
    body = _rule_body(
        timeframe=timeframe, symbol=symbol, cooldown=cooldown, repeat=repeat, side=side
    )
    if condition is not None:
        body["condition"] = condition
    if all_symbols:
        body["symbol"] = None
    emit_object(
        client.request("PATCH", f"{BASE}/rules/{segment(name)}", json=body).json(), output_format
    )


def _rule_toggle(enabled: bool, help_text: str) -> click.Command:
    @click.argument("name")
    @format_option
    @pass_client
    def command(client: ApiClient, name: str, output_format: str | None) -> None:
        path = f"{BASE}/rules/{segment(name)}"
        emit_object(client.request("PATCH", path, json={"enabled": enabled}).json(), output_format)

    command.__doc__ = help_text
    return click.command("resume" if enabled else "pause")(command)


rules.add_command(_rule_toggle(True, "Resume rule NAME."))
rules.add_command(_rule_toggle(False, "Pause rule NAME (it stays defined)."))


@rules.command("show")
@click.argument("name")
@format_option
@pass_client
def rules_show(client: ApiClient, name: str, output_format: str | None) -> None:
    """Show rule NAME."""
    emit_object(client.get(f"{BASE}/rules/{segment(name)}"), output_format)


@rules.command("delete")
@click.argument("name")
@format_option
@pass_client
def rules_delete(client: ApiClient, name: str, output_format: str | None) -> None:
    """Delete rule NAME (alerts it fired stay in the signal history)."""
    emit_object(client.delete(f"{BASE}/rules/{segment(name)}"), output_format)


@alerts.command("deadletters")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@format_option
@pass_client
def deadletters(client: ApiClient, limit: int, output_format: str | None) -> None:
    """List deliveries that failed for good, newest first."""
    body = client.get(f"{BASE}/deadletters", limit=limit)
    emit(body, body["deadletters"], output_format, first=("channel", "event_id", "summary"))


@alerts.group()
def channels() -> None:
    """Notification channels: webhooks that receive signals and fired alert rules."""


def _channel_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--payload", type=click.Choice(PAYLOADS), help="Body format [default: generic]."),
            click.option("--symbol", "symbols", multiple=True, type=SYMBOL, help="Only these symbols (repeatable)."),
            click.option("--strategy", "strategies", multiple=True, help="Only these strategies' signals (repeatable)."),
            click.option("--rule", "rules", multiple=True, help="Only these rules' alerts (repeatable)."),
            click.option("--events", type=click.Choice(["signals", "alerts", "both"]), help="What to send [default: both]."),
            click.option("--min-confidence", type=click.FloatRange(0, 1), help="Drop signals below this confidence."),
        ]
    ):  # fmt: skip
        func = option(func)
    return func


def _channel_body(options: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {k: list(options[k]) for k in FILTERS if options.get(k)}
    if options.get("payload"):
        body["format"] = options["payload"]
    if options.get("events"):
        body["events"] = (
            ["signals", "alerts"] if options["events"] == "both" else [options["events"]]
        )
    if options.get("min_confidence") is not None:
        body["min_confidence"] = options["min_confidence"]
    return body


def _channel_path(name: str, tail: str = "") -> str:
    return f"{BASE}/channels/{segment(name)}{tail}"


@channels.command("list")
@format_option
@pass_client
def channels_list(client: ApiClient, output_format: str | None) -> None:
    """List the channels (URLs redacted)."""
    body = client.get(f"{BASE}/channels")
    emit(body, body["channels"], output_format, first=("name", "format", "url", "enabled"))


@channels.command("add")
@click.argument("name")
@click.argument("url")
@_channel_options
@format_option
@pass_client
def channels_add(
    client: ApiClient, /, name: str, url: str, output_format: str | None, **options: Any
) -> None:
    """Create channel NAME posting to URL; prints its signing secret, this once."""
    body = client.post(f"{BASE}/channels", {"name": name, "url": url} | _channel_body(options))
    emit_object(body, output_format)
    click.echo("Store the secret now: it is not shown again.", err=True)


@channels.command("update")
@click.argument("name")
@click.option("--url", help="New URL.")
@_channel_options
@click.option("--clear", type=click.Choice(FILTERS), multiple=True, help="Remove a filter.")
@format_option
@pass_client
def channels_update(
    client: ApiClient,
    /,
    name: str,
    url: str | None,
    clear: tuple[str, ...],
    output_format: str | None,
    **options: Any,
) -> None:
    """Change channel NAME's URL, format or filters (given filters replace the old ones)."""
    body = _channel_body(options) | {key: [] for key in clear} | ({"url": url} if url else {})
    emit_object(client.request("PATCH", _channel_path(name), json=body).json(), output_format)


def _channel_toggle(enabled: bool, help_text: str) -> click.Command:
    @click.argument("name")
    @format_option
    @pass_client
    def command(client: ApiClient, name: str, output_format: str | None) -> None:
        body = client.request("PATCH", _channel_path(name), json={"enabled": enabled}).json()
        emit_object(body, output_format)

    command.__doc__ = help_text
    return click.command("resume" if enabled else "pause")(command)


channels.add_command(_channel_toggle(True, "Resume channel NAME."))
channels.add_command(_channel_toggle(False, "Pause channel NAME (events are not queued for it)."))


@channels.command("show")
@click.argument("name")
@format_option
@pass_client
def channels_show(client: ApiClient, name: str, output_format: str | None) -> None:
    """Show channel NAME."""
    emit_object(client.get(_channel_path(name)), output_format)


@channels.command("delete")
@click.argument("name")
@format_option
@pass_client
def channels_delete(client: ApiClient, name: str, output_format: str | None) -> None:
    """Delete channel NAME with its secret and delivery log."""
    emit_object(client.delete(_channel_path(name)), output_format)


@channels.command("log")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@format_option
@pass_client
def channels_log(client: ApiClient, name: str, limit: int, output_format: str | None) -> None:
    """Show channel NAME's deliveries: status, attempts, latency, last error."""
    body = client.get(_channel_path(name, "/deliveries"), limit=limit)
    first = ("event_id", "status", "attempts", "latency_ms", "status_code", "summary")
    emit(body, body["deliveries"], output_format, first=first)


def _redeliver_command(name: str, help_text: str, hidden: bool = False) -> click.Command:
    @click.argument("name")
    @click.option("--event", "event_id", help="Only this event id [default: every dead delivery].")
    @format_option
    @pass_client
    def command(
        client: ApiClient, name: str, event_id: str | None, output_format: str | None
    ) -> None:
        body = {"event_id": event_id} if event_id else {}
        emit_object(client.post(_channel_path(name, "/redeliver"), body), output_format)

    command.__doc__ = help_text
    return click.command(name, hidden=hidden)(command)


REDELIVER_HELP = "Send channel NAME's dead deliveries again, with fresh attempts."
channels.add_command(_redeliver_command("redeliver", REDELIVER_HELP))
# The earlier name, still accepted but not listed.
channels.add_command(_redeliver_command("replay", "Deprecated: use 'redeliver'.", hidden=True))
