"""Request bodies of the three channel formats: generic JSON, Discord and Slack webhooks.

An event is ``{"event_id", "type": "signal"|"alert", "created_at", "signal": {...}}`` where
``signal`` is the record the signals endpoint returns. Bodies are serialised canonically
(sorted keys), so every retry of an event sends the same bytes and the same signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

FORMATS = ("generic", "discord", "slack")
COLOURS = {"buy": 0x2ECC71, "sell": 0xE74C3C}
ALERT_COLOUR = 0x3498DB


def title(event: Mapping[str, Any]) -> str:
    """Return a one-line summary: ``AAPL 1m BUY by macd_rsi at 187.2``."""
    signal = event["signal"]
    return (
        f"{signal['symbol']} {signal['timeframe']} {signal['signal_type']} "
        f"by {signal['strategy']} at {signal['price']:g}"
    )


def generic(event: Mapping[str, Any]) -> dict[str, Any]:
    """Return the generic body: the event itself and a one-line ``summary``."""
    return dict(event) | {"summary": title(event)}


def discord(event: Mapping[str, Any]) -> dict[str, Any]:
    """Return a Discord webhook body: a short content line and one embed."""
    signal = event["signal"]
    fields = [
        {"name": "Price", "value": f"{signal['price']:g}", "inline": True},
        {"name": "Confidence", "value": f"{signal['confidence']:.2f}", "inline": True},
        {"name": "Timeframe", "value": str(signal["timeframe"]), "inline": True},
    ]
    embed = {
        "title": title(event),
        "description": str(signal.get("reason", ""))[:2000],
        "color": COLOURS.get(str(signal.get("side")), ALERT_COLOUR),
        "timestamp": signal["timestamp"],
        "fields": fields,
        "footer": {"text": f"wagehood {event['event_id']}"},
    }
    return {"username": "Wagehood", "content": title(event), "embeds": [embed]}


def slack(event: Mapping[str, Any]) -> dict[str, Any]:
    """Return a Slack incoming-webhook body: fallback text and two blocks."""
    signal = event["signal"]
    text = f"*{title(event)}*\n{signal.get('reason', '')}"
    return {
        "text": title(event),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{signal['timestamp']} · confidence "
                        f"{signal['confidence']:.2f} · {event['event_id']}",
                    }
                ],
            },
        ],
    }


BUILDERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "generic": generic,
    "discord": discord,
    "slack": slack,
}


def body(fmt: str, event: Mapping[str, Any]) -> bytes:
    """Return the canonical request body of ``event`` in channel format ``fmt``."""
    payload = BUILDERS[fmt](event)
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
