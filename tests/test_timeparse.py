"""One parser for times (CSV, API, CLI) and one for Retry-After (providers, webhooks, CLI)."""

from __future__ import annotations

import pytest

from wagehood.timeparse import parse_retry_after, parse_time

JUNE_1 = 1717200000  # 2024-06-01T00:00:00Z


@pytest.mark.parametrize(
    "text",
    ["1717200000", " 1717200000.9 ", "2024-06-01", "2024-06-01T00:00:00Z", "2024-06-01T00:00Z",
     "2024-06-01T02:00:00+02:00", "2024-06-01 00:00:00", "20240601T000000Z"],
)  # fmt: skip
def test_parse_time_reads_epoch_seconds_and_every_iso_form_as_utc(text: str) -> None:
    assert parse_time(text) == JUNE_1


def test_parse_time_keeps_negative_epochs_and_rounds_fractions_down() -> None:
    assert parse_time("-60") == -60
    assert parse_time("-0.5") == -1


@pytest.mark.parametrize("text", ["", "soon", "2024-13-01", "1e9", "0x10"])
def test_parse_time_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_time(text)


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


@pytest.mark.parametrize("value", [None, "", "  ", "soon", "-5", "Wed, 99 Foo"])
def test_parse_retry_after_ignores_what_it_cannot_use(value: str | None) -> None:
    assert parse_retry_after(value, now=0.0) is None
