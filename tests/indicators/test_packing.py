"""The packed state of an indicator set restores it exactly, for every registered kind."""

from __future__ import annotations

import pytest

from tests.indicators.conftest import bars_from_closes
from tests.indicators.test_contract import ALL_SPECS, SPECS
from wagehood.indicators.registry import INDICATORS, IndicatorSet

EVERY_KIND = {f"c{i}": spec for i, spec in enumerate(ALL_SPECS)}


def test_every_registered_kind_is_packed() -> None:
    assert set(SPECS) == set(INDICATORS)


@pytest.mark.parametrize("cut", [0, 1, 4, 19, 40, 149])
def test_unpacked_set_continues_identically_mid_stream(cut: int) -> None:
    bars = bars_from_closes([300.0 + (i * 7 % 23) + i * 0.37 for i in range(150)])
    whole, first = IndicatorSet(EVERY_KIND), IndicatorSet(EVERY_KIND)
    expected = [whole.update(b) for b in bars]

    head = [first.update(b) for b in bars[:cut]]
    restored = IndicatorSet.unpack(EVERY_KIND, first.pack())
    tail = [restored.update(b) for b in bars[cut:]]

    assert head + tail == expected
    assert restored.to_state() == whole.to_state()
    assert restored.pack() == whole.pack()


def test_unpack_rejects_state_packed_for_other_parameters() -> None:
    packed = IndicatorSet({"fast": "sma(10)"}).pack()

    with pytest.raises(ValueError, match="SMA\\(10\\), spec is SMA\\(20\\)"):
        IndicatorSet.unpack({"fast": "sma(20)"}, packed)


def test_unpack_rejects_state_of_other_columns() -> None:
    packed = IndicatorSet({"fast": "sma(10)"}).pack()

    with pytest.raises(ValueError, match="slow"):
        IndicatorSet.unpack({"slow": "sma(10)"}, packed)
