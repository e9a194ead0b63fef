"""Payload formats, signatures, retry policy and the webhook URL guard (no network)."""

from __future__ import annotations

import json
import random
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from wagehood.alerts import payloads, retry, signing
from wagehood.alerts.channels import Channel, build_channel
from wagehood.alerts.log import Result, new_record, settle
from wagehood.alerts.urls import check_url, is_public, redact
from wagehood.errors import ValidationError

EVENT = {
    "event_id": signing.event_id("AAPL:1m:1717200000:alert:dip"),
    "type": "alert",
    "created_at": 1717200061.5,
    "signal": {"id": "AAPL:1m:1717200000:alert:dip", "symbol": "AAPL", "timeframe": "1m",
               "timestamp": "2024-06-01T00:00:00Z", "time": 1717200000, "strategy": "alert:dip",
               "signal_type": "ALERT", "side": "alert", "confidence": 1.0, "price": 187.25,
               "reason": "rsi_14 < 30", "values": {"rsi_14": 28.1}, "rule": "dip"},
}  # fmt: skip


def public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


@pytest.mark.parametrize("fmt", payloads.FORMATS)
def test_bodies_are_canonical_json_and_stable(fmt: str) -> None:
    body = payloads.body(fmt, EVENT)
    assert body == payloads.body(fmt, json.loads(json.dumps(EVENT)))
    assert "AAPL 1m ALERT by alert:dip at 187.25" in body.decode()


def test_discord_and_slack_shapes() -> None:
    discord = json.loads(payloads.body("discord", EVENT))
    assert discord["embeds"][0]["timestamp"] == "2024-06-01T00:00:00Z"
    assert discord["content"].startswith("AAPL")
    slack = json.loads(payloads.body("slack", EVENT))
    assert slack["text"].startswith("AAPL")
    assert slack["blocks"][0]["type"] == "section"


def test_signature_verifies_and_detects_tampering() -> None:
    body = payloads.body("generic", EVENT)
    headers = signing.headers("whsec_k", body, EVENT["event_id"], 1, 1_717_200_000)
    assert signing.verify("whsec_k", body, headers[signing.SIGNATURE_HEADER])
    assert not signing.verify("whsec_k", body + b" ", headers[signing.SIGNATURE_HEADER])
    assert not signing.verify("other", body, headers[signing.SIGNATURE_HEADER])
    assert headers[signing.EVENT_HEADER] == EVENT["event_id"]


def test_standard_webhooks_library_verifies_the_signature_and_refuses_replays() -> None:
    secret = signing.new_secret()
    body = payloads.body("generic", EVENT)
    now = int(time.time())
    headers = signing.headers(secret, body, EVENT["event_id"], 1, now)
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    stale = signing.headers(secret, body, EVENT["event_id"], 1, now - 600)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, stale)  # a captured request replayed 10 minutes later


def test_event_ids_are_stable() -> None:
    assert signing.event_id("x") == signing.event_id("x") != signing.event_id("y")


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, "delivered"), (204, "delivered"), (None, "retry"), (429, "retry"), (503, "retry"),
     (408, "retry"), (301, "permanent"), (400, "permanent"), (404, "permanent")],
)  # fmt: skip
def test_outcome_by_status(status: int | None, kind: str) -> None:
    assert retry.outcome(status) == kind


def test_backoff_doubles_with_jitter_and_retry_after_wins() -> None:
    rng = random.Random(1)
    delays = [retry.backoff(attempt, 2.0, rng) for attempt in (1, 2, 3, 4)]
    for attempt, delay in zip((1, 2, 3, 4), delays, strict=True):
        assert 2.0 * 2 ** (attempt - 1) / 2 <= delay <= 2.0 * 2 ** (attempt - 1)
    assert retry.retry_after("7", 0.0) == 7.0
    assert retry.retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0) == 10.0
    assert retry.retry_after("soon", 0.0) is None
    assert retry.next_delay(1, 0.1, 30.0) == 30.0


def test_settle_counts_attempts_to_dead() -> None:
    record = new_record("c", EVENT, 0.0) | {"attempts": 3}
    updated, attempt = settle(record, Result("retry", status_code=500, error="HTTP 500"), 3, 0.1)
    assert (updated["status"], attempt.status) == ("dead", "dead")
    updated, attempt = settle(record, Result("retry", retry_after=5.0), 4, 0.1)
    assert (updated["status"], attempt.status, attempt.delay) == ("retrying", "retry", 5.0)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
     "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "224.0.0.1", "100.64.0.1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public(address)
    with pytest.raises(ValidationError, match="WEBHOOK_ALLOW_PRIVATE"):
        check_url("https://hooks.example/x", False, lambda host, port: [address])


def test_url_guard_schemes_credentials_and_operator_opt_in() -> None:
    for bad in ("ftp://h/x", "file:///etc/passwd", "http://user:pw@h/x", "http:///x", "x"):
        with pytest.raises(ValidationError):
            check_url(bad, True)
    assert check_url("http://127.0.0.1:9/x", True) == "http://127.0.0.1:9/x"
    assert check_url("https://hooks.example/x", False, public)


def test_unresolvable_host_is_refused() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(ValidationError, match="cannot resolve"):
        check_url("https://nowhere.invalid/x", False, fail)


def test_redact_hides_path_tokens() -> None:
    url = "https://discord.com/api/webhooks/123/SECRET-TOKEN?wait=true"
    assert redact(url) == "https://discord.com/…"
    assert "SECRET" not in json.dumps(Channel("d", url).to_dict())


def test_channel_filters() -> None:
    channel = build_channel(
        {"name": "c", "url": "https://h.example/x", "symbols": ["aapl"], "rules": ["dip"],
         "events": ["alerts"], "min_confidence": 0.5},
        allow_private=False, now=0.0, resolver=public,
    )  # fmt: skip
    assert channel.accepts(EVENT)
    signal = EVENT | {"signal": EVENT["signal"] | {"strategy": "macd_rsi", "confidence": 0.9}}
    assert not channel.accepts(signal)
    assert not channel.accepts(EVENT | {"signal": EVENT["signal"] | {"symbol": "MSFT"}})
    assert not channel.accepts(EVENT | {"signal": EVENT["signal"] | {"strategy": "alert:other"}})
