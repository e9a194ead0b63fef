"""Pipeline counters: what counts as a missed tick."""

from __future__ import annotations

import pytest

from wagehood.service.stats import missed_ticks


@pytest.mark.parametrize(
    ("gap", "interval", "missed"),
    [
        (1.0, 1.0, 0),  # on time
        (1.9, 1.0, 0),  # late, not missed
        (2.0, 1.0, 1),
        (30.4, 1.0, 29),  # a 30 s outage at 1 s
        (0.2, 1.0, 0),  # two dispatches close together (beat catching up)
        (-5.0, 1.0, 0),  # a clock stepped back
        (20.0, 5.0, 3),
    ],
)
def test_missed_ticks_counts_whole_intervals_skipped(
    gap: float, interval: float, missed: int
) -> None:
    assert missed_ticks(1_000.0, 1_000.0 + gap, interval) == missed
